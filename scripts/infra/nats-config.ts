// The CLI of the NATS users-and-permissions renderer (shared/contracts/src/nats-permissions.ts, which the
// private test server renders from too):
//   node --conditions=@platform/source --import tsx scripts/infra/nats-config.ts [--server-name N] [--listen H:P] [--http H:P] \
//     [--password user=secret ...] [--env-refs] \
//     [--store-dir DIR [--sync-interval always|<duration>]] [--cluster NAME --cluster-listen H:P --route nats-route://H:P ...]
// (a cluster node: its own --server-name and --store-dir, the same --cluster and --route list on every node)
// The subpath, not the package index: this runs without the source condition (nats.sh), and the
// renderer alone has no imports to resolve.
import { NATS_USER_NAMES, renderNatsConfig, type NatsConfigOptions, type NatsUserName } from '@platform/contracts/nats-permissions';

function main(argv: string[]): void {
  const o: NatsConfigOptions = { passwords: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--server-name') o.serverName = next();
    else if (a === '--listen') o.listen = next();
    else if (a === '--http') o.http = next();
    else if (a === '--env-refs') o.envRefs = true;
    else if (a === '--store-dir') o.jetstream = { ...o.jetstream, storeDir: next() };
    else if (a === '--sync-interval') o.jetstream = { storeDir: '', ...o.jetstream, syncInterval: next() };
    else if (a === '--cluster') o.cluster = { listen: '', routes: [], ...o.cluster, name: next() };
    else if (a === '--cluster-listen') o.cluster = { name: '', routes: [], ...o.cluster, listen: next() };
    else if (a === '--route') o.cluster = { name: '', listen: '', ...o.cluster, routes: [...(o.cluster?.routes ?? []), next()] };
    else if (a === '--password') {
      const [user, ...rest] = next().split('=');
      if (!NATS_USER_NAMES.includes(user as NatsUserName) || rest.length === 0)
        throw new Error(`--password expects <user>=<secret> with user one of ${NATS_USER_NAMES.join(', ')}`);
      o.passwords[user as NatsUserName] = rest.join('=');
    } else throw new Error(`unknown argument ${a}`);
  }
  if (o.jetstream && !o.jetstream.storeDir) throw new Error('--sync-interval needs --store-dir');
  if (o.cluster && (!o.cluster.name || !o.cluster.listen || o.cluster.routes.length === 0))
    throw new Error('a cluster node needs --cluster, --cluster-listen and --route');
  process.stdout.write(renderNatsConfig(o));
}

if (process.argv[1] && /nats-config\.ts$/.test(process.argv[1])) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`nats-config: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
