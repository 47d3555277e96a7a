/**
 * Entry point of `npm start`: reads the configuration from the environment, starts the server
 * and stops it cleanly on Ctrl-C (SIGINT) or SIGTERM.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startServer } from './server.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`backpact: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  if (config.staticDir && !existsSync(join(config.staticDir, 'index.html'))) {
    logger.log('warn', 'no built app found; run "npm run build" first', { staticDir: config.staticDir });
  }
  // Handlers first: a Ctrl-C that arrives while the server is still starting (or the instant it
  // prints its URL) must still close it cleanly instead of killing the process mid-way.
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  let stopSignal: string | null = null;
  const stop = (signal: string): void => {
    if (stopSignal) return;
    stopSignal = signal;
    logger.log('info', 'stopping', { signal });
    if (!server) return; // closed as soon as it has started, below
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  server = await startServer(config, logger);
  if (stopSignal) {
    await server.close();
    process.exit(0);
  }
  logger.log('info', 'listening', { url: server.url });
  process.stdout.write(`Backpact is running at ${server.url}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`backpact: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
