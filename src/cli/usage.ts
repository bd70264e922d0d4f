/** Thrown for a bad command line; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export const USAGE = `Usage: steward <command> [options]

Spec and files:
  validate FILE [--json]            check a cluster spec; exit 0 ok, 1 errors, 2 unusable input
  render FILE --out DIR [--dry-run] write slurm.conf, gres.conf, cgroup.conf, ... (all or nothing)

Accounting (QoS, accounts, users) as code:
  plan FILE [--json] [--detailed-exitcode] [--prune] TARGET   exit 0 nothing to do, 2 changes pending (with --detailed-exitcode), 1 error
  apply FILE [--yes] [--prune] TARGET                           asks unless --yes; progress per step; exit 0 applied/nothing, 1 failure
  import --out FILE [--cluster NAME] [--force] TARGET           write a spec from a live cluster's accounting
    TARGET: --sandbox | --local | --controller ssh://user@host[:port] --identity KEYFILE --host-key SHA256:...
    also: --no-posix, --protect-account NAME (repeatable), --protect-user NAME (repeatable)

Login nodes (pools from the spec; nodes over SSH with --identity KEY [--user root]):
  login-nodes status --spec FILE [--json]               every pool member: balancer state, health, sessions
  login-nodes drain NODE --spec FILE [--grace M] [--wait]  no new sessions now; users get a wall notice;
                                                          --wait ends what is left when the grace runs out
  login-nodes ready NODE --spec FILE                      take new sessions again
    also: --haproxy-dir DIR (where haproxy-<pool>.cfg lives, default /etc/haproxy)

Identity (users from IAM Identity Center or LDAP, per the spec's identity section):
  identity sync FILE [--dry-run] [--out FILE] [--json]   write the users the directory implies into the spec file (or --out)
  identity sync --cluster C [--dry-run] [--json]         the same on a cluster of the service's store, as a new revision
  identity check FILE [--instance-arn ARN] [--json]      Session Manager Run As: access-control attributes, per-user verdicts, IAM tags
  identity run-as FILE [--dry-run] [--json]              apply SSM-SessionManagerRunShell (Run As) and the IAM SSMSessionRunAs tags, only what differs

Cluster state (read from the controller: TARGET as above):
  gpus [--json] TARGET                       GPUs per partition and type: total, allocated, free, shards/MPS free, node states
  reliability --spec FILE [--days N | --since ISO] [--nodes N] [--checkpoint-seconds S] [--json] TARGET
                                    node failures vs planned maintenance per node group: rate, MTBF, MTTR;
                                    with --nodes the expected time between failures of such a job and its checkpoint interval

Through the service (no shell on the controller; the token is read from a file):
  --server URL --token-file FILE [--cluster C] [--json] gpus|reliability|whoami|plan [options]
                                    whoami: your POSIX name, uid, accounts, QoS limits, partitions, how to log in

Usage and budgets (a client of the service: STEWARD_TOKEN, --url or STEWARD_URL, default http://127.0.0.1:8080):
  usage --cluster C [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--group-by department|account|user|partition|nodeGroup] [--json|--csv]
                                    GPU-, CPU-, node-hours, jobs and cost from Slurm accounting (what the token may see)
  budgets --cluster C [--month YYYY-MM] [--json|--csv]   spend, forecast, thresholds crossed, action in force
  budgets check --cluster C | budgets lift DEPARTMENT --cluster C   check now / end a budget action (admin)
  budgets reconcile --cluster C --month YYYY-MM [--json]   AWS bill (Cost Explorer) beside the chargeback (admin)
  budgets aws-sync FILE --topic-arn ARN [--dry-run] [--json]   make the AWS Budget of budgets.cluster (AWS credentials of the environment)

Service:
  token create --role admin|department-admin|researcher [--cluster C] [--department D]... [--user U] [--description TEXT]
                                    create an API token in the service's store; prints the secret once

HyperPod:
  hyperpod check CLUSTER_CONFIG PROVISIONING_PARAMETERS [--spec FILE] [--json]
                                    check HyperPod's files against each other and the spec; exit 0 consistent, 1 problems, 2 unusable input

Local Slurm sandbox (root); each takes --slurm 22.05|24.11 (default: STEWARD_SANDBOX_SLURM, else the host's 22.05):
  sandbox up [FILE] [--nodes-per-group N]   boot a spec on a real local Slurm (24.11: in a Debian 13 root, made once)
  sandbox reload [--restart]                take the files an apply installed (restart when needed)
  sandbox down [--purge]                    stop it (--purge also deletes its state, and the 24.11 root)
  sandbox status [--json]                   which release, what runs
  sandbox env                               print the exports for sinfo/sbatch/sacctmgr and steward --sandbox
`
