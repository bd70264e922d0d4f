/**
 * The directory a spec's `identity` section names, as an {@link IdentitySource}: the
 * Identity Store (its region; the SDK honours AWS_ENDPOINT_URL) or the LDAP server.
 */
import type { ClusterSpec } from '../spec/schema.js'
import type { IdentitySource } from '../identity/source.js'
import { IdentitySourceError } from '../identity/source.js'
import { createIdentityStoreClient, createIdentityStoreSource } from './aws/identity-store.js'
import { createLdapSource } from './ldap.js'

/** Makes the source of a spec; the API and the CLI take one, tests give their own. */
export type IdentitySourceFactory = (spec: ClusterSpec) => IdentitySource

export const identitySourceFor: IdentitySourceFactory = (spec) => {
  const identity = spec.identity
  if (!identity) throw new IdentitySourceError('the spec has no identity section: add one (spec-format.md, identity) before syncing')
  if (identity.source === 'identity-center') {
    const ic = identity.identityCenter
    if (!ic) throw new IdentitySourceError('identity.source is identity-center but identity.identityCenter is missing')
    return createIdentityStoreSource({ identityStoreId: ic.identityStoreId, client: createIdentityStoreClient(ic.region) })
  }
  if (!identity.ldap) throw new IdentitySourceError('identity.source is ldap but identity.ldap is missing')
  return createLdapSource({ settings: identity.ldap })
}
