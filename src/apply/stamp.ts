/**
 * The managed-file header's stamp (src/slurm/render.ts `managedHeader`): the spec's hash
 * and the revision, which change with any edit of the spec, a user's included. Slurm
 * ignores the comment, so a file that differs only in its stamp needs no install and no
 * reconfigure.
 */

/** The stamp line: `# Cluster NAME, spec sha256:HEX[, revision N].` (the first one only). */
const STAMP_LINE = /^(?:#|\/\/) Cluster \S+, spec sha256:[0-9a-f]{64}(?:, revision \d+)?\.$/m

/** The text with its header's stamp line emptied. */
export function withoutStamp(text: string): string {
  return text.replace(STAMP_LINE, '')
}

/** Whether a controller's file (undefined: absent) equals a rendered one, stamps aside. */
export function sameManagedFile(onController: string | undefined, rendered: string): boolean {
  if (onController === undefined) return false
  return onController === rendered || withoutStamp(onController) === withoutStamp(rendered)
}
