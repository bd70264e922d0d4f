/**
 * Session Manager Run As, checked: Identity Center passes the access-control attribute
 * `SSMSessionRunAs` to Session Manager, which starts the session as the user it names. The
 * attribute must come from the directory attribute that holds each user's POSIX name;
 * this says, per synced user, whether the value they will carry equals their POSIX name,
 * and exactly what to change when it does not. Pure: the adapters read the configuration,
 * the users and the IAM tags.
 */
import type { ClusterSpec } from '../spec/schema.js'
import type { DirectoryUser } from './source.js'

/** The access-control attribute key Session Manager reads. */
export const RUN_AS_KEY = 'SSMSessionRunAs'

export interface UserVerdict {
  user: string
  externalId: string
  /** The value the user's sessions will carry (undefined: none). */
  carries?: string | undefined
  ok: boolean
  fix?: string
}

export interface RunAsReport {
  /** The attribute's source in Identity Center (`${path:userName}`), or undefined when not configured. */
  source?: string | undefined
  attribute: { ok: boolean; message: string }
  users: UserVerdict[]
}

/**
 * The attribute of a {@link DirectoryUser} an Identity Center attribute path reads:
 * `${path:userName}` -> `UserName`, `${path:name.givenName}` -> `Name.GivenName`,
 * `${path:emails[primary eq true].value}` -> `Email`; undefined for other shapes.
 */
export function attributeOfPath(source: string): string | undefined {
  const m = /^\$\{path:([A-Za-z][\w.[\] ]*)\}$/.exec(source)
  if (!m) return undefined
  const path = m[1]!
  if (/^emails\[/i.test(path)) return 'Email'
  if (!/^[A-Za-z][\w.]*$/.test(path)) return undefined
  return path.split('.').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('.')
}

/** The Identity Center path of a spec's `attribute:<name>` rule (`UserName` -> `${path:userName}`). */
export function pathOfAttribute(attribute: string): string {
  return `\${path:${attribute.split('.').map((p) => p.charAt(0).toLowerCase() + p.slice(1)).join('.')}}`
}

/** Checks the Run As attribute against every synced Identity Center user of `spec`. */
export function checkRunAs(spec: ClusterSpec, runAsSource: string | undefined, users: ReadonlyMap<string, DirectoryUser>): RunAsReport {
  const rule = spec.identity?.username ?? 'local-part'
  const named = rule.startsWith('attribute:') ? rule.slice('attribute:'.length) : undefined
  const wanted = named ? pathOfAttribute(named) : undefined
  const advice = named
    ? `map ${RUN_AS_KEY} to ${wanted} (the attribute identity.username reads)`
    : `store each user's POSIX name in a user attribute (e.g. nickName), set identity.username to attribute:NickName and map ${RUN_AS_KEY} to \${path:nickName}`
  const attribute = runAsSource === undefined
    ? { ok: false, message: `Identity Center has no access-control attribute ${RUN_AS_KEY}: add it in the instance's attributes for access control and ${advice}` }
    : wanted !== undefined && runAsSource !== wanted
      ? { ok: false, message: `${RUN_AS_KEY} comes from ${runAsSource}, but POSIX names come from ${wanted}: ${advice}` }
      : { ok: true, message: `${RUN_AS_KEY} comes from ${runAsSource}` }
  const read = runAsSource === undefined ? undefined : attributeOfPath(runAsSource)
  const verdicts: UserVerdict[] = []
  for (const u of spec.users) {
    if (u.source !== 'identity-center' || u.externalId === undefined || u.disabled) continue
    const d = users.get(u.externalId)
    const carries = d && read ? d.attributes[read] : undefined
    if (carries === u.name) {
      verdicts.push({ user: u.name, externalId: u.externalId, carries, ok: true })
      continue
    }
    let fix: string
    if (!d) fix = `the directory has no user ${u.externalId} any more: run steward identity sync`
    else if (runAsSource === undefined) fix = `no ${RUN_AS_KEY} attribute: ${advice}`
    else if (read === undefined) fix = `${runAsSource} is not an attribute path this check can read: ${advice}`
    else if (carries === undefined) fix = `the user has no ${read}: set it to "${u.name}" in the directory`
    else fix = named && read === named
      ? `${read} is "${carries}" but the POSIX user is "${u.name}": run steward identity sync`
      : `sessions would run as "${carries}" (${runAsSource}) but the POSIX user is "${u.name}": ${advice}`
    verdicts.push({ user: u.name, externalId: u.externalId, carries, ok: false, fix })
  }
  return { source: runAsSource, attribute, users: verdicts }
}

/** An IAM principal's tag verdict: what its `SSMSessionRunAs` tag holds and should hold. */
export interface TagVerdict {
  principal: string
  user: string
  has?: string | undefined
  ok: boolean
}
