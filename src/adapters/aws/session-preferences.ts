/**
 * Applies the Session Manager preferences document through SSM, idempotently: created when
 * missing; when its default version's content differs, a new version is written and made
 * the default; when it is the same, nothing is sent but the read.
 */
import { isDeepStrictEqual } from 'node:util'
import {
  CreateDocumentCommand, GetDocumentCommand, SSMClient, UpdateDocumentCommand, UpdateDocumentDefaultVersionCommand,
} from '@aws-sdk/client-ssm'
import { SESSION_PREFERENCES_DOCUMENT } from '../../sessions/preferences.js'

export type PreferencesOutcome = { action: 'created' | 'updated' | 'unchanged'; version: string }

/** Makes `content` the default version of document `name` (default SSM-SessionManagerRunShell). */
export async function applySessionPreferences(content: Record<string, unknown>, client: SSMClient = new SSMClient({}), name = SESSION_PREFERENCES_DOCUMENT): Promise<PreferencesOutcome> {
  let current: { Content?: string; DocumentVersion?: string } | undefined
  try {
    current = await client.send(new GetDocumentCommand({ Name: name, DocumentFormat: 'JSON' }))
  } catch (err) {
    if ((err as Error).name !== 'InvalidDocument') throw err
  }
  const text = JSON.stringify(content)
  if (!current) {
    const created = await client.send(new CreateDocumentCommand({ Name: name, DocumentType: 'Session', DocumentFormat: 'JSON', Content: text }))
    return { action: 'created', version: created.DocumentDescription?.DocumentVersion ?? '1' }
  }
  if (current.Content !== undefined && isDeepStrictEqual(JSON.parse(current.Content), content)) {
    return { action: 'unchanged', version: current.DocumentVersion ?? '' }
  }
  const updated = await client.send(new UpdateDocumentCommand({ Name: name, DocumentFormat: 'JSON', Content: text, DocumentVersion: '$LATEST' }))
  const version = updated.DocumentDescription?.DocumentVersion
  if (!version) throw new Error(`UpdateDocument of ${name} answered no version`)
  await client.send(new UpdateDocumentDefaultVersionCommand({ Name: name, DocumentVersion: version }))
  return { action: 'updated', version }
}
