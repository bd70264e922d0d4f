/**
 * The AWS side of Session Manager Run As: Identity Center's access-control attribute
 * `SSMSessionRunAs` (sso-admin `DescribeInstanceAccessControlAttributeConfiguration`),
 * and the `SSMSessionRunAs` tag of IAM users and roles outside Identity Center (read with
 * `ListUserTags`/`ListRoleTags`, set with `TagUser`/`TagRole` only when it differs).
 */
import { DescribeInstanceAccessControlAttributeConfigurationCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin'
import { IAMClient, ListRoleTagsCommand, ListUserTagsCommand, TagRoleCommand, TagUserCommand } from '@aws-sdk/client-iam'
import { RUN_AS_KEY, type TagVerdict } from '../../identity/run-as-check.js'

/** The source of the instance's `SSMSessionRunAs` attribute, or undefined when it has none (or no configuration). */
export async function readRunAsSource(instanceArn: string, client: SSOAdminClient = new SSOAdminClient({})): Promise<string | undefined> {
  try {
    const r = await client.send(new DescribeInstanceAccessControlAttributeConfigurationCommand({ InstanceArn: instanceArn }))
    const attribute = r.InstanceAccessControlAttributeConfiguration?.AccessControlAttributes?.find((a) => a.Key === RUN_AS_KEY)
    return attribute?.Value?.Source?.[0]
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined
    throw err
  }
}

/** `user` or `role`, and the name, of an IAM user or role ARN. */
export function principalOf(arn: string): { kind: 'user' | 'role'; name: string } {
  const m = /:(user|role)\/(?:.*\/)?([^/]+)$/.exec(arn)
  if (!m) throw new Error(`"${arn}" is not an IAM user or role ARN`)
  return { kind: m[1] as 'user' | 'role', name: m[2]! }
}

/** Each mapping's tag verdict; with `apply`, sets the tag where it differs. */
export async function syncRunAsTags(mappings: ReadonlyArray<{ principal: string; user: string }>, apply: boolean, client: IAMClient = new IAMClient({})): Promise<Array<TagVerdict & { changed: boolean }>> {
  const out: Array<TagVerdict & { changed: boolean }> = []
  for (const m of mappings) {
    const { kind, name } = principalOf(m.principal)
    const tags = kind === 'user'
      ? (await client.send(new ListUserTagsCommand({ UserName: name }))).Tags
      : (await client.send(new ListRoleTagsCommand({ RoleName: name }))).Tags
    const has = tags?.find((t) => t.Key === RUN_AS_KEY)?.Value
    const ok = has === m.user
    let changed = false
    if (!ok && apply) {
      const Tags = [{ Key: RUN_AS_KEY, Value: m.user }]
      if (kind === 'user') await client.send(new TagUserCommand({ UserName: name, Tags }))
      else await client.send(new TagRoleCommand({ RoleName: name, Tags }))
      changed = true
    }
    out.push({ principal: m.principal, user: m.user, has, ok: ok || changed, changed })
  }
  return out
}
