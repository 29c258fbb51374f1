// Minimal Neo4j 5.26 Community launcher for local development, tests and CI.
// Started by scripts/infra/neo4j.sh; compiled into .data/neo4j/classes with javac
// against the jars that scripts/neo4j/pom.xml fetches into .data/neo4j/lib.
//
// Usage: java -Xmx1g -cp <classes>:<lib>/* Launcher <home-dir> <bolt-host> <bolt-port>
// The password comes from the environment (NEO4J_PASSWORD) so it is not visible in `ps`.
//
// It uses only Neo4j's public APIs: the embedded DatabaseManagementServiceBuilder for
// the server and the Java driver (already a dependency of org.neo4j:neo4j) for a real
// Bolt round-trip before announcing readiness.

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.Config;
import org.neo4j.driver.GraphDatabase;
import org.neo4j.driver.Logging;

public final class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Launcher <home-dir> <bolt-host> <bolt-port>");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath().normalize();
        String host = args[1];
        int port = Integer.parseInt(args[2]);
        String password = System.getenv("NEO4J_PASSWORD");
        if (password == null || password.length() < 8) {
            System.err.println("NEO4J_PASSWORD must be set (min. 8 characters)");
            System.exit(2);
        }

        // Community has no setting for an initial password, and the built-in user starts as
        // neo4j/neo4j with "change required". So on the very first boot we start once WITHOUT
        // Bolt (no external access at all), set the password through the system database, shut
        // down, and only then start for real with Bolt enabled. A marker file inside the data
        // directory records that this happened, so wiping data/ redoes it.
        Path marker = home.resolve("data").resolve(".initial-password-set");
        if (!Files.exists(marker)) {
            DatabaseManagementService bootstrap = build(home, host, port, false);
            try {
                bootstrap.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                        "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
            } finally {
                bootstrap.shutdown();
            }
            Files.writeString(marker, "password set by scripts/neo4j/Launcher.java\n");
            System.out.println("neo4j initial password set");
        }

        long t0 = System.nanoTime();
        DatabaseManagementService service = build(home, host, port, true);
        long dbmsMs = (System.nanoTime() - t0) / 1_000_000;
        // SIGTERM/SIGINT run JVM shutdown hooks: stop the DBMS cleanly (checkpoint, close stores)
        // so the next start needs no recovery. `infra.sh down` relies on this.
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("neo4j stopping");
            service.shutdown();
            System.out.println("neo4j stopped");
            stopped.countDown();
        }, "neo4j-shutdown"));

        // Readiness = a real authenticated Bolt query, not just an open port.
        long t1 = System.nanoTime();
        String uri = "bolt://" + host + ":" + port;
        Config cfg = Config.builder().withLogging(Logging.none())
                .withConnectionTimeout(10, TimeUnit.SECONDS).build();
        try (var driver = GraphDatabase.driver(uri, AuthTokens.basic("neo4j", password), cfg);
             var session = driver.session()) {
            session.run("RETURN 1").consume();
        }
        long boltMs = (System.nanoTime() - t1) / 1_000_000;
        System.out.println("neo4j started bolt=" + host + ":" + port + " (dbms " + dbmsMs + " ms, bolt check " + boltMs + " ms)");
        stopped.await();
    }

    private static DatabaseManagementService build(Path home, String host, int port, boolean bolt) {
        return new DatabaseManagementServiceBuilder(home)
                .setConfig(GraphDatabaseSettings.data_directory, home.resolve("data"))
                .setConfig(GraphDatabaseSettings.logs_directory, home.resolve("logs"))
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, 512L * 1024 * 1024)
                // Dev/test store: keep disk usage small instead of production-grade tx log retention.
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "false")
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                .setConfig(GraphDatabaseSettings.default_listen_address, new SocketAddress(host))
                .setConfig(BoltConnector.enabled, bolt)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                // Netty otherwise idles 5 s after the databases are already closed, which every
                // `infra.sh down neo4j` (tests stop/start Neo4j) would pay. Internal setting.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .build();
    }
}
