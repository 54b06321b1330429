// ZooKeeper client compatibility suite built on Apache Curator (Debian's libcurator-*-java).
//
// Usage: java -cp .tmp/compat-curator:<curator and zookeeper jars> CuratorSuite --server HOST:PORT
// (tests/compat/curator/run.sh builds and runs it.)
//
// Prints one line per check, `ok <name>` or `FAIL <name>: <why>`, then
// `summary curator <passed>/<total>`, and exits non-zero if any check failed. Every printed line
// is deterministic: no zxids, times, session ids, ports or sequence numbers reach stdout. Every
// znode lives under /compat-curator-<random>, deleted at the end. Each check has its own time
// bound; diagnostics go to stderr.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.data.Stat;

public final class CuratorSuite {
  static final String SUITE = "curator";
  static final int CHECK_TIMEOUT_MS = 20_000;
  static final int SESSION_TIMEOUT_MS = 10_000;
  static final int CONNECT_TIMEOUT_MS = 10_000;
  static final int EVENT_WAIT_MS = 5_000;
  /** How long to wait to be sure that something does NOT happen (a second lock holder). */
  static final int QUIET_WAIT_MS = 500;
  /** Containers and TTL nodes are removed by a periodic sweep; allow it this long. */
  static final int SWEEP_WAIT_MS = 15_000;

  /** A check's expectation did not hold; the message follows `FAIL <name>: `. */
  static final class CheckFailed extends Exception {
    CheckFailed(String why) {
      super(why);
    }
  }

  interface Check {
    void run() throws Exception;
  }

  final String server;
  final String root = String.format(Locale.ROOT, "/compat-curator-%08x",
      new java.util.Random().nextInt());
  final List<CuratorFramework> clients = Collections.synchronizedList(new ArrayList<>());
  CuratorFramework a;
  CuratorFramework b;

  CuratorSuite(String server) {
    this.server = server;
  }

  // --- helpers ---------------------------------------------------------------------------------

  static void expect(boolean cond, String why) throws CheckFailed {
    if (!cond) {
      throw new CheckFailed(why);
    }
  }

  static void expectEq(Object actual, Object expected, String what) throws CheckFailed {
    if (!java.util.Objects.equals(actual, expected)) {
      throw new CheckFailed(what + ": expected " + expected + ", got " + actual);
    }
  }

  static void expectKeeperError(KeeperException.Code code, Check body, String what)
      throws Exception {
    try {
      body.run();
    } catch (KeeperException e) {
      expectEq(e.code(), code, what);
      return;
    }
    throw new CheckFailed(what + ": expected " + code + ", got success");
  }

  static boolean waitFor(BooleanSupplier cond, int timeoutMs) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }

  String path(String... parts) {
    return root + "/" + String.join("/", parts);
  }

  String rel(String p) {
    return p == null ? null : p.replace(root, "<root>");
  }

  CuratorFramework newClient() throws Exception {
    CuratorFramework client = CuratorFrameworkFactory.builder()
        .connectString(server)
        .sessionTimeoutMs(SESSION_TIMEOUT_MS)
        .connectionTimeoutMs(CONNECT_TIMEOUT_MS)
        .retryPolicy(new ExponentialBackoffRetry(100, 3))
        .build();
    client.start();
    if (!client.blockUntilConnected(CONNECT_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
      client.close();
      throw new CheckFailed("could not connect");
    }
    clients.add(client);
    return client;
  }

  void closeClient(CuratorFramework client) {
    clients.remove(client);
    client.close();
  }

  // --- checks ----------------------------------------------------------------------------------

  void createCreatingParentsIfNeeded() throws Exception {
    String leaf = path("parents", "a", "b");
    Stat stat = new Stat();
    String created = a.create().creatingParentsIfNeeded().storingStatIn(stat)
        .forPath(leaf, bytes("leaf"));
    expectEq(rel(created), "<root>/parents/a/b", "returned path");
    expectEq(stat.getVersion() + "/" + stat.getDataLength(), "0/4", "stat version/dataLength");
    expect(stat.getCzxid() == stat.getMzxid(), "czxid != mzxid in the create2 stat");
    Stat parent = b.checkExists().forPath(path("parents", "a"));
    expect(parent != null, "the parent was not created");
    expectEq(parent.getEphemeralOwner(), 0L, "a made parent is a plain persistent node");
    expectEq(text(b.getData().forPath(leaf)), "leaf", "data seen by B");
    expectKeeperError(KeeperException.Code.NODEEXISTS,
        () -> a.create().creatingParentsIfNeeded().forPath(leaf), "second create");
  }

  void createCreatingParentContainersIfNeeded() throws Exception {
    // The made parents are containers, which ZooKeeper removes once their last child is gone
    // (after the container sweep). It stores Long.MIN_VALUE as a container's ephemeralOwner but
    // shows clients 0, as for any node that is not a session's ephemeral.
    String container = path("cont");
    String leaf = container + "/inner/leaf";
    a.create().creatingParentContainersIfNeeded().forPath(leaf);
    Stat stat = b.checkExists().forPath(container);
    expect(stat != null, "the container parent was not created");
    expectEq(stat.getEphemeralOwner(), 0L, "ephemeralOwner of a container as clients see it");
    expect(exists(b, container + "/inner") != null, "the inner container was not created");
    b.delete().forPath(leaf);
    expect(waitFor(() -> exists(a, container + "/inner") == null, SWEEP_WAIT_MS),
        "the emptied inner container was not removed");
    expect(waitFor(() -> exists(a, container) == null, SWEEP_WAIT_MS),
        "the emptied outer container was not removed");
  }

  void containerNeverUsedStays() throws Exception {
    // A container that never had a child is not swept: only cversion > 0 makes it eligible.
    String container = path("cont-unused");
    a.create().withMode(CreateMode.CONTAINER).forPath(container);
    Thread.sleep(2_000); // several sweep intervals of the harness's ZooKeeper
    expect(exists(b, container) != null, "a never-used container was removed");
  }

  void ttlNode() throws Exception {
    // A PERSISTENT_WITH_TTL node without children goes once it has not been modified for ttl ms.
    // ZooKeeper stores the TTL in ephemeralOwner (0xFF00_0000_0000_0000 | ttl) but shows 0.
    String ttl = path("ttl");
    a.create().withTtl(1_000).withMode(CreateMode.PERSISTENT_WITH_TTL).forPath(ttl, bytes("t"));
    Stat stat = b.checkExists().forPath(ttl);
    expect(stat != null, "the TTL node was not created");
    expectEq(stat.getEphemeralOwner(), 0L, "ephemeralOwner of a TTL node as clients see it");
    expect(waitFor(() -> exists(a, ttl) == null, SWEEP_WAIT_MS), "the TTL node never expired");
    // (A zero or negative TTL is refused by the client library before it reaches the server.)
  }

  void transaction() throws Exception {
    String base = path("tx");
    a.create().forPath(base);
    a.create().forPath(base + "/old");
    List<CuratorOp> ops = List.of(
        a.transactionOp().create().forPath(base + "/new", bytes("n")),
        a.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL)
            .forPath(base + "/seq-"),
        a.transactionOp().setData().forPath(base + "/new", bytes("n2")),
        a.transactionOp().check().withVersion(1).forPath(base + "/new"),
        a.transactionOp().delete().forPath(base + "/old"));
    List<CuratorTransactionResult> results = a.transaction().forOperations(ops);
    List<String> shown = new ArrayList<>();
    for (CuratorTransactionResult r : results) {
      // Only creates carry a result path; every result names the path it was for.
      String p = rel(r.getResultPath() != null ? r.getResultPath() : r.getForPath());
      shown.add(r.getType() + " " + p.replaceAll("\\d{10}$", "<seq>"));
    }
    expectEq(shown, List.of("CREATE <root>/tx/new", "CREATE <root>/tx/seq-<seq>",
        "SET_DATA <root>/tx/new", "CHECK <root>/tx/new", "DELETE <root>/tx/old"), "results");
    expectEq(text(b.getData().forPath(base + "/new")), "n2", "data after commit");
    expect(exists(b, base + "/old") == null, "deleted node still there");
  }

  void transactionRollback() throws Exception {
    String base = path("txf");
    a.create().forPath(base);
    a.create().forPath(base + "/keep", bytes("orig"));
    List<CuratorOp> ops = List.of(
        a.transactionOp().create().forPath(base + "/would-be"),
        a.transactionOp().setData().forPath(base + "/keep", bytes("changed")),
        a.transactionOp().check().withVersion(7).forPath(base + "/keep"));
    expectKeeperError(KeeperException.Code.BADVERSION, () -> a.transaction().forOperations(ops),
        "failing transaction");
    expect(exists(b, base + "/would-be") == null, "the create before the failure persisted");
    expectEq(text(b.getData().forPath(base + "/keep")), "orig", "the set before the failure");
  }

  void mutexExclusive() throws Exception {
    // If the mutex were not exclusive, B's timed acquire would succeed while A holds it, or B's
    // blocking acquire would return before A's release: each is checked.
    String lockPath = path("mutex");
    InterProcessMutex lockA = new InterProcessMutex(a, lockPath);
    InterProcessMutex lockB = new InterProcessMutex(b, lockPath);
    expect(lockA.acquire(5, TimeUnit.SECONDS), "A could not take a free mutex");
    expect(lockA.acquire(5, TimeUnit.SECONDS), "the mutex is not re-entrant for its holder");
    expect(!lockB.acquire(QUIET_WAIT_MS, TimeUnit.MILLISECONDS), "B locked while A held it");
    List<String> order = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch acquired = new CountDownLatch(1);
    CountDownLatch releaseB = new CountDownLatch(1);
    Thread waiter = new Thread(() -> { // an InterProcessMutex belongs to the acquiring thread
      try {
        if (lockB.acquire(10, TimeUnit.SECONDS)) {
          order.add("B acquired");
          acquired.countDown();
          releaseB.await(EVENT_WAIT_MS, TimeUnit.MILLISECONDS);
          lockB.release();
        }
      } catch (Exception e) {
        e.printStackTrace();
      }
    });
    waiter.setDaemon(true);
    waiter.start();
    expect(!acquired.await(QUIET_WAIT_MS, TimeUnit.MILLISECONDS), "B acquired while A held");
    lockA.release();
    expect(!acquired.await(QUIET_WAIT_MS, TimeUnit.MILLISECONDS), "B acquired after one release");
    order.add("A released");
    lockA.release();
    expect(acquired.await(EVENT_WAIT_MS, TimeUnit.MILLISECONDS), "B never got the mutex");
    expectEq(order, List.of("A released", "B acquired"), "order");
    releaseB.countDown();
    waiter.join(EVENT_WAIT_MS);
    expectEq(b.getChildren().forPath(lockPath), List.of(), "lock nodes left");
  }

  void mutexFreedBySessionClose() throws Exception {
    String lockPath = path("mutex2");
    CuratorFramework holder = newClient();
    expect(new InterProcessMutex(holder, lockPath).acquire(5, TimeUnit.SECONDS), "holder");
    InterProcessMutex lockB = new InterProcessMutex(b, lockPath);
    expect(!lockB.acquire(QUIET_WAIT_MS, TimeUnit.MILLISECONDS), "B locked while held");
    closeClient(holder);
    expect(lockB.acquire(EVENT_WAIT_MS, TimeUnit.MILLISECONDS),
        "the mutex was not freed when its holder's session closed");
    lockB.release();
  }

  void semaphore() throws Exception {
    String semPath = path("semaphore");
    InterProcessSemaphoreV2 semA = new InterProcessSemaphoreV2(a, semPath, 1);
    InterProcessSemaphoreV2 semB = new InterProcessSemaphoreV2(b, semPath, 1);
    Lease lease = semA.acquire(5, TimeUnit.SECONDS);
    expect(lease != null, "A got no lease");
    expect(semB.acquire(QUIET_WAIT_MS, TimeUnit.MILLISECONDS) == null, "a second lease of one");
    semA.returnLease(lease);
    Lease leaseB = semB.acquire(EVENT_WAIT_MS, TimeUnit.MILLISECONDS);
    expect(leaseB != null, "B got no lease after A returned it");
    semB.returnLease(leaseB);
  }

  void leaderLatch() throws Exception {
    // Exactly one of two participants leads; when the leader closes its latch, the other leads.
    String latchPath = path("latch");
    LeaderLatch latchA = new LeaderLatch(a, latchPath, "A");
    LeaderLatch latchB = new LeaderLatch(b, latchPath, "B");
    latchA.start();
    expect(latchA.await(EVENT_WAIT_MS, TimeUnit.MILLISECONDS), "A did not become leader alone");
    latchB.start();
    expect(waitFor(() -> participants(latchB) == 2, EVENT_WAIT_MS), "B did not join");
    Thread.sleep(QUIET_WAIT_MS);
    expectEq(latchA.hasLeadership() + "/" + latchB.hasLeadership(), "true/false", "leaders A/B");
    expectEq(latchB.getLeader().getId(), "A", "leader seen by B");
    latchA.close();
    expect(latchB.await(EVENT_WAIT_MS, TimeUnit.MILLISECONDS), "B did not take over");
    expectEq(latchB.getLeader().getId(), "B", "leader after A closed");
    latchB.close();
  }

  void leaderLatchSessionLoss() throws Exception {
    // Leadership also moves when the leader's whole client goes away.
    String latchPath = path("latch2");
    CuratorFramework leaderClient = newClient();
    LeaderLatch leader = new LeaderLatch(leaderClient, latchPath, "L");
    leader.start();
    expect(leader.await(EVENT_WAIT_MS, TimeUnit.MILLISECONDS), "L did not lead");
    LeaderLatch follower = new LeaderLatch(b, latchPath, "F");
    follower.start();
    expect(waitFor(() -> participants(follower) == 2, EVENT_WAIT_MS), "F did not join");
    expect(!follower.hasLeadership(), "two leaders");
    closeClient(leaderClient);
    expect(follower.await(EVENT_WAIT_MS, TimeUnit.MILLISECONDS), "F did not take over");
    follower.close();
  }

  void atomicLong() throws Exception {
    // DistributedAtomicLong is optimistic (setData with the version it read); lost updates would
    // make the sum short, and a failed increment is reported as not succeeded.
    String counterPath = path("atomic");
    int perClient = 25;
    List<String> problems = Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>();
    for (CuratorFramework client : List.of(a, b)) {
      DistributedAtomicLong counter =
          new DistributedAtomicLong(client, counterPath, new RetryNTimes(200, 5));
      Thread t = new Thread(() -> {
        try {
          for (int i = 0; i < perClient; i++) {
            AtomicValue<Long> v = counter.increment();
            if (!v.succeeded()) {
              problems.add("an increment did not succeed");
            } else if (v.postValue() != v.preValue() + 1) {
              problems.add("post != pre + 1");
            }
          }
        } catch (Exception e) {
          problems.add(e.getClass().getSimpleName());
        }
      });
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join(CHECK_TIMEOUT_MS);
    }
    expectEq(problems, List.of(), "problems");
    AtomicValue<Long> total =
        new DistributedAtomicLong(a, counterPath, new RetryNTimes(3, 10)).get();
    expectEq(total.postValue(), 2L * perClient, "sum of both clients' increments");
  }

  void sharedCount() throws Exception {
    String countPath = path("shared");
    SharedCount countA = new SharedCount(a, countPath, 0);
    SharedCount countB = new SharedCount(b, countPath, 0);
    countA.start();
    countB.start();
    try {
      VersionedValue<Integer> seen = countB.getVersionedValue();
      expect(countA.trySetCount(countA.getVersionedValue(), 5), "A's set failed");
      // B's versioned value is stale now, so its conditional set must fail.
      expect(!countB.trySetCount(seen, 9), "a stale conditional set succeeded");
      expect(waitFor(() -> countB.getCount() == 5, EVENT_WAIT_MS), "B did not see A's value");
    } finally {
      countA.close();
      countB.close();
    }
  }

  void curatorCache() throws Exception {
    // CuratorCache (on ZooKeeper 3.6+) uses one persistent recursive watch on its root.
    String cachePath = path("cache");
    a.create().forPath(cachePath, bytes("r"));
    a.create().forPath(cachePath + "/x", bytes("1"));
    List<String> events = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch initialized = new CountDownLatch(1);
    CuratorCache cache = CuratorCache.build(a, cachePath);
    cache.listenable().addListener(CuratorCacheListener.builder()
        .forAll((type, before, after) -> events.add(type + " "
            + rel((after != null ? after : before).getPath())
            + (after != null ? "=" + text(after.getData()) : "")))
        .forInitialized(initialized::countDown)
        .build());
    cache.start();
    try {
      expect(initialized.await(EVENT_WAIT_MS, TimeUnit.MILLISECONDS), "never initialised");
      b.create().forPath(cachePath + "/y", bytes("2"));
      expect(waitFor(() -> events.size() >= 3, EVENT_WAIT_MS), "no event for B's create");
      b.setData().forPath(cachePath + "/x", bytes("1b"));
      expect(waitFor(() -> events.size() >= 4, EVENT_WAIT_MS), "no event for B's set");
      b.create().forPath(cachePath + "/y/deep", bytes("3"));
      expect(waitFor(() -> events.size() >= 5, EVENT_WAIT_MS), "no event for a grandchild");
      b.delete().deletingChildrenIfNeeded().forPath(cachePath + "/y");
      expect(waitFor(() -> events.size() >= 7, EVENT_WAIT_MS), "no events for B's deletes");
      List<String> got = new ArrayList<>(events);
      // The two deletes may be reported in either order; the rest is ordered.
      Collections.sort(got.subList(5, 7));
      expectEq(got, List.of("NODE_CREATED <root>/cache=r", "NODE_CREATED <root>/cache/x=1",
          "NODE_CREATED <root>/cache/y=2", "NODE_CHANGED <root>/cache/x=1b",
          "NODE_CREATED <root>/cache/y/deep=3", "NODE_DELETED <root>/cache/y",
          "NODE_DELETED <root>/cache/y/deep"), "events");
      expectEq(text(cache.get(cachePath + "/x").get().getData()), "1b", "cached data");
    } finally {
      cache.close();
    }
  }

  void persistentRecursiveWatch() throws Exception {
    // An addWatch PERSISTENT_RECURSIVE watch fires for every change below it and stays set;
    // removeWatches takes it away, and removing it again answers NOWATCHER.
    String base = path("pw");
    a.create().forPath(base);
    List<String> events = Collections.synchronizedList(new ArrayList<>());
    Watcher watcher = event -> {
      if (event.getType() != Watcher.Event.EventType.None) {
        events.add(event.getType() + " " + rel(event.getPath()));
      }
    };
    a.watchers().add().withMode(AddWatchMode.PERSISTENT_RECURSIVE).usingWatcher(watcher)
        .forPath(base);
    b.create().forPath(base + "/c");
    b.create().forPath(base + "/c/d");
    b.setData().forPath(base + "/c/d", bytes("x"));
    b.setData().forPath(base + "/c/d", bytes("y"));
    b.delete().forPath(base + "/c/d");
    expect(waitFor(() -> events.size() >= 5, EVENT_WAIT_MS), "too few events");
    expectEq(new ArrayList<>(events), List.of("NodeCreated <root>/pw/c",
        "NodeCreated <root>/pw/c/d", "NodeDataChanged <root>/pw/c/d",
        "NodeDataChanged <root>/pw/c/d", "NodeDeleted <root>/pw/c/d"), "events");
    a.watchers().remove(watcher).forPath(base);
    b.setData().forPath(base + "/c", bytes("after removal"));
    a.sync().forPath(base);
    a.checkExists().forPath(base);
    Thread.sleep(QUIET_WAIT_MS);
    // The client library itself tells the watcher that it was removed (PersistentWatchRemoved)
    // once the server accepted removeWatches; the setData after it must not be seen.
    expectEq(new ArrayList<>(events.subList(5, events.size())),
        List.of("PersistentWatchRemoved <root>/pw"), "events after removeWatches");
    expectKeeperError(KeeperException.Code.NOWATCHER,
        () -> a.watchers().remove(watcher).forPath(base), "removing a removed watch");
  }

  void persistentWatch() throws Exception {
    // PERSISTENT (not recursive): data changes of the node and child list changes, repeatedly.
    String base = path("pw1");
    a.create().forPath(base);
    List<String> events = Collections.synchronizedList(new ArrayList<>());
    Watcher watcher = event -> {
      if (event.getType() != Watcher.Event.EventType.None) {
        events.add(event.getType() + " " + rel(event.getPath()));
      }
    };
    a.watchers().add().withMode(AddWatchMode.PERSISTENT).usingWatcher(watcher).forPath(base);
    b.setData().forPath(base, bytes("1"));
    b.setData().forPath(base, bytes("2"));
    b.create().forPath(base + "/kid");
    b.setData().forPath(base + "/kid", bytes("not seen: not recursive"));
    b.delete().forPath(base + "/kid");
    expect(waitFor(() -> events.size() >= 4, EVENT_WAIT_MS), "too few events");
    a.sync().forPath(base);
    Thread.sleep(QUIET_WAIT_MS);
    expectEq(new ArrayList<>(events), List.of("NodeDataChanged <root>/pw1",
        "NodeDataChanged <root>/pw1", "NodeChildrenChanged <root>/pw1",
        "NodeChildrenChanged <root>/pw1"), "events");
    a.watchers().remove(watcher).forPath(base);
  }

  void deletingChildrenIfNeeded() throws Exception {
    a.create().creatingParentsIfNeeded().forPath(path("tree", "a", "b"));
    a.create().forPath(path("tree", "c"));
    a.delete().deletingChildrenIfNeeded().forPath(path("tree"));
    expect(exists(b, path("tree")) == null, "tree still there");
  }

  // --- driver ----------------------------------------------------------------------------------

  static Stat exists(CuratorFramework client, String p) {
    try {
      return client.checkExists().forPath(p);
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  static int participants(LeaderLatch latch) {
    try {
      return latch.getParticipants().size();
    } catch (Exception e) {
      return -1;
    }
  }

  int passed = 0;
  int total = 0;
  final ExecutorService pool = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r);
    t.setDaemon(true);
    return t;
  });

  void run(String name, Check check, String only) {
    if (only != null && !name.contains(only)) {
      return;
    }
    total++;
    Future<?> future = pool.submit(() -> {
      check.run();
      return null;
    });
    String why = null;
    try {
      future.get(CHECK_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      why = "timed out after " + CHECK_TIMEOUT_MS / 1000 + " s";
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof CheckFailed) {
        why = rel(cause.getMessage());
      } else {
        cause.printStackTrace();
        why = "unexpected " + (cause instanceof KeeperException
            ? "KeeperException " + ((KeeperException) cause).code()
            : cause.getClass().getSimpleName());
      }
    } catch (InterruptedException e) {
      why = "interrupted";
    }
    if (why == null) {
      passed++;
      System.out.println("ok " + name);
    } else {
      System.out.println("FAIL " + name + ": " + why);
    }
    System.out.flush();
  }

  void runAll(String only) {
    run("create.creating_parents_if_needed", this::createCreatingParentsIfNeeded, only);
    run("create.creating_parent_containers_if_needed",
        this::createCreatingParentContainersIfNeeded, only);
    run("create.container_never_used_stays", this::containerNeverUsedStays, only);
    run("create.ttl", this::ttlNode, only);
    run("delete.deleting_children_if_needed", this::deletingChildrenIfNeeded, only);
    run("transaction.commit", this::transaction, only);
    run("transaction.rollback", this::transactionRollback, only);
    run("recipe.mutex_exclusive", this::mutexExclusive, only);
    run("recipe.mutex_freed_by_session_close", this::mutexFreedBySessionClose, only);
    run("recipe.semaphore", this::semaphore, only);
    run("recipe.leader_latch", this::leaderLatch, only);
    run("recipe.leader_latch_session_loss", this::leaderLatchSessionLoss, only);
    run("recipe.distributed_atomic_long", this::atomicLong, only);
    run("recipe.shared_count", this::sharedCount, only);
    run("recipe.curator_cache", this::curatorCache, only);
    run("watch.persistent_recursive", this::persistentRecursiveWatch, only);
    run("watch.persistent", this::persistentWatch, only);
  }

  void cleanup() {
    try {
      if (a.checkExists().forPath(root) != null) {
        a.delete().deletingChildrenIfNeeded().forPath(root);
      }
      if (a.checkExists().forPath(root) != null) {
        System.err.println("cleanup left " + root + " behind");
      }
    } catch (Exception e) {
      e.printStackTrace();
    }
    for (CuratorFramework client : new ArrayList<>(clients)) {
      closeClient(client);
    }
  }

  public static void main(String[] args) {
    String server = null;
    String only = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--server") && i + 1 < args.length) {
        server = args[++i];
      } else if (args[i].equals("--only") && i + 1 < args.length) {
        only = args[++i];
      } else {
        System.err.println("usage: CuratorSuite --server HOST:PORT [--only TEXT]");
        System.exit(2);
      }
    }
    if (server == null) {
      System.err.println("usage: CuratorSuite --server HOST:PORT [--only TEXT]");
      System.exit(2);
    }
    CuratorSuite suite = new CuratorSuite(server);
    try {
      suite.a = suite.newClient();
      suite.b = suite.newClient();
      suite.a.create().forPath(suite.root);
    } catch (Exception e) {
      e.printStackTrace();
      System.out.println("FAIL connect: could not connect and create the root");
      System.out.println("summary " + SUITE + " 0/1");
      System.exit(1);
    }
    suite.runAll(only);
    suite.cleanup();
    System.out.println("summary " + SUITE + " " + suite.passed + "/" + suite.total);
    System.out.flush();
    // halt: a timed-out check may have left a non-daemon Curator thread behind.
    Runtime.getRuntime().halt(suite.passed == suite.total ? 0 : 1);
  }
}
