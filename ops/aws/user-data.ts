/**
 * The service instance's boot script (Amazon Linux 2023): Node.js 20 and the build
 * tools, the data volume, the service's source from its S3 asset, the environment, a
 * systemd unit running `npm start` as the `steward` user, and the CloudWatch agent
 * shipping its log. Every value comes from the validated config or a CloudFormation token
 * (ids and names AWS makes), never from free text.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2'

export interface UserDataProps {
  region: string
  cluster: string
  sourceBucket: string
  sourceKey: string
  logGroup: string
  stateDir: string
  /** The encrypted EBS data volume's device, or undefined with RDS. */
  dataVolume: string | undefined
  controller: { host: string; port?: number | undefined; user?: string | undefined; hostKey: string; identityParameter: string }
  database: { secretArn: string; host: string; port: string } | undefined
  /** The cluster has login pools: the service gets the login-node identity (the controller's key). */
  loginPools: boolean
  /**
   * The AWS Budgets topic, when the budget-alert Lambda is deployed: the service then listens
   * on the VPC address (its security group admits only the Lambda) and is told the topic.
   */
  budgetsTopicArn?: string | undefined
  /** The notices topic: the service sends its own budget notices (thresholds it checks) there instead of through sendmail. */
  noticesTopicArn?: string | undefined
}

const APP_DIR = '/opt/hpc-steward'

/**
 * The script as multipart user data with a cloud-config part that makes cloud-init run it
 * at every boot (not only the first): CloudFormation applies a changed script by stopping
 * and starting the instance, and the script is idempotent.
 */
export function serviceUserDataParts(script: string): ec2.MultipartUserData {
  const parts = new ec2.MultipartUserData()
  parts.addPart(ec2.MultipartBody.fromRawBody({ contentType: 'text/cloud-config; charset="utf-8"', body: 'cloud_final_modules:\n  - [scripts-user, always]\n' }))
  parts.addPart(ec2.MultipartBody.fromUserData(ec2.UserData.custom(script)))
  return parts
}

/** The user-data script. */
export function serviceUserData(p: UserDataProps): string {
  const key = `${p.stateDir}/controller.key`
  const controllers = JSON.stringify({
    [p.cluster]: { url: `ssh://${p.controller.user ?? 'root'}@${p.controller.host}:${p.controller.port ?? 22}`, identity: key, hostKey: p.controller.hostKey },
  })
  const env = [
    'NODE_ENV=production', `HOST=${p.budgetsTopicArn ? '0.0.0.0' : '127.0.0.1'}`, 'PORT=8080', `AWS_REGION=${p.region}`,
    ...(p.budgetsTopicArn ? [`STEWARD_BUDGETS_TOPIC_ARN=${p.budgetsTopicArn}`] : []),
    ...(p.noticesTopicArn ? [`STEWARD_BUDGETS_NOTICES_TOPIC_ARN=${p.noticesTopicArn}`] : []),
    `STEWARD_DATA_DIR=${p.stateDir}/data`, 'STEWARD_PUBLISH_POLICY=1',
    // Single quotes: systemd's EnvironmentFile keeps the JSON's double quotes inside them.
    `STEWARD_CONTROLLERS='${controllers}'`,
    ...(p.loginPools ? [`STEWARD_LOGIN_IDENTITY=${key}`] : []),
  ]
  const agent = JSON.stringify({
    logs: { logs_collected: { files: { collect_list: [{ file_path: '/var/log/hpc-steward/service.log', log_group_name: p.logGroup, log_stream_name: '{instance_id}' }] } } },
  })
  // Runs as root before each start: the controller key from its SecureString, and the
  // database URL from the RDS secret, into files only the steward user reads.
  const prestart = [
    '#!/bin/bash',
    'set -euo pipefail',
    'umask 077',
    `aws ssm get-parameter --region '${p.region}' --with-decryption --name '${p.controller.identityParameter}' --query Parameter.Value --output text > '${key}.new'`,
    `mv '${key}.new' '${key}' && chown steward:steward '${key}'`,
    `cp /etc/hpc-steward/env.base /etc/hpc-steward/env`,
    ...(p.database ? [
      `secret=$(aws secretsmanager get-secret-value --region '${p.region}' --secret-id '${p.database.secretArn}' --query SecretString --output text)`,
      `echo "DATABASE_URL=postgres://$(jq -r .username <<<"$secret"):$(jq -r .password <<<"$secret")@${p.database.host}:${p.database.port}/steward?sslmode=no-verify" >> /etc/hpc-steward/env`,
    ] : []),
    'chown root:steward /etc/hpc-steward/env && chmod 640 /etc/hpc-steward/env',
  ].join('\n')
  const unit = [
    '[Unit]',
    `Description=HPC Steward (cluster ${p.cluster})`,
    'After=network-online.target',
    'Wants=network-online.target',
    '[Service]',
    'User=steward',
    `WorkingDirectory=${APP_DIR}`,
    'ExecStartPre=+/usr/local/libexec/hpc-steward-prestart',
    'EnvironmentFile=/etc/hpc-steward/env',
    'ExecStart=/usr/bin/npm start',
    'Restart=on-failure',
    'RestartSec=10',
    'StandardOutput=append:/var/log/hpc-steward/service.log',
    'StandardError=append:/var/log/hpc-steward/service.log',
    'NoNewPrivileges=true',
    'ProtectSystem=full',
    `ReadWritePaths=${p.stateDir} ${APP_DIR} /var/log/hpc-steward`,
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n')
  const heredoc = (path: string, body: string) => `cat > '${path}' <<'STEWARD_EOF'\n${body}\nSTEWARD_EOF`
  return [
    '#!/bin/bash',
    'set -euxo pipefail',
    'dnf install -y nodejs20 nodejs20-npm gcc-c++ make python3 unzip jq openssh-clients amazon-cloudwatch-agent',
    'ln -sf /usr/bin/node-20 /usr/local/bin/node && ln -sf /usr/bin/npm-20 /usr/bin/npm',
    'id steward >/dev/null 2>&1 || useradd --system --home-dir /var/lib/hpc-steward --shell /sbin/nologin steward',
    `mkdir -p '${p.stateDir}' /etc/hpc-steward /var/log/hpc-steward '${APP_DIR}'`,
    ...(p.dataVolume ? [
      // CloudFormation attaches the volume once the instance runs: wait for it (at most 10 minutes).
      `for i in $(seq 300); do [ -e '${p.dataVolume}' ] && break; sleep 2; done; [ -e '${p.dataVolume}' ]`,
      // A new (blank) volume gets a file system; one with data is only mounted.
      `blkid '${p.dataVolume}' >/dev/null || mkfs.xfs '${p.dataVolume}'`,
      `grep -q '${p.stateDir}' /etc/fstab || echo '${p.dataVolume} ${p.stateDir} xfs defaults,nofail 0 2' >> /etc/fstab`,
      `mountpoint -q '${p.stateDir}' || mount '${p.stateDir}'`,
    ] : []),
    `mkdir -p '${p.stateDir}/data' && chown -R steward:steward '${p.stateDir}' /var/log/hpc-steward`,
    `aws s3 cp --region '${p.region}' 's3://${p.sourceBucket}/${p.sourceKey}' /tmp/hpc-steward.zip`,
    `rm -rf '${APP_DIR}'/* && unzip -q /tmp/hpc-steward.zip -d '${APP_DIR}' && rm /tmp/hpc-steward.zip`,
    `chown -R steward:steward '${APP_DIR}'`,
    'systemctl stop hpc-steward.service 2>/dev/null || true',
    `sudo -u steward bash -c 'cd ${APP_DIR} && npm ci --no-audit --no-fund'`,
    heredoc('/etc/hpc-steward/env.base', env.join('\n')),
    heredoc('/usr/local/libexec/hpc-steward-prestart', prestart),
    'chmod 700 /usr/local/libexec/hpc-steward-prestart',
    heredoc('/etc/systemd/system/hpc-steward.service', unit),
    heredoc('/opt/aws/amazon-cloudwatch-agent/etc/hpc-steward.json', agent),
    '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/hpc-steward.json',
    'systemctl daemon-reload',
    'systemctl enable hpc-steward.service',
    'systemctl restart hpc-steward.service',
  ].join('\n')
}
