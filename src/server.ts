/**
 * The only file that listens: reads the configuration, builds the app, serves, and shuts
 * down gracefully on SIGINT/SIGTERM.
 */
import { buildApp } from './api/app.js'
import { ConfigError, loadConfig } from './config.js'

async function start(): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hpc-steward: bad configuration: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const app = await buildApp({}, { logger: { level: config.logLevel } })
  const close = async (signal: string): Promise<void> => {
    app.log.info({ signal }, 'shutting down')
    await app.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void close('SIGINT'))
  process.once('SIGTERM', () => void close('SIGTERM'))
  await app.listen({ port: config.port, host: config.host })
}

await start()
