package kafkatest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// EnvClusterPort names the variable holding the first port of the three-node test
// cluster (make test sets it, to auto unless TEST_KAFKA_CLUSTER_PORT is given): tests
// that need one start it there with deploy/kafka/cluster.sh, nodes on PORT..PORT+2,
// controllers on PORT+10..PORT+12; with auto, on ports FreePorts picks.
const EnvClusterPort = "IMBRIDGE_TEST_KAFKA_CLUSTER_PORT"

// Cluster is a private three-node KRaft cluster on loopback that a failover test may
// kill, stop and start node by node, run by deploy/kafka/cluster.sh.
type Cluster struct {
	t      testing.TB
	script string
	env    []string
	// Addrs are the nodes' bootstrap addresses; node N (1..3) is Addrs[N-1].
	Addrs []string
}

// StartCluster starts a three-node cluster on the ports EnvClusterPort names (auto: on
// ports FreePorts picks), with no topics, in a directory of t's, and removes it when t
// ends. Without EnvClusterPort, java or mvn, t is skipped
// (failed when CI=true); make test sets EnvClusterPort, so there a cluster that cannot
// start fails the test.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	v := os.Getenv(EnvClusterPort)
	if v == "" {
		unavailable(t, EnvClusterPort+" is not set: run `make test`, or set it to auto or a free port (the cluster takes PORT..PORT+2 and PORT+10..PORT+12)")
	}
	base, err := strconv.Atoi(v)
	if v != "auto" && (err != nil || base < 1024 || base > 65000) {
		t.Fatalf("%s=%q: want auto or a port number", EnvClusterPort, v)
	}
	for _, tool := range []string{"java", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, tool+" is needed to run a private Kafka cluster")
		}
	}
	if v == "auto" {
		base = FreePorts(t)
	}
	c := &Cluster{
		t:      t,
		script: Script("cluster.sh"),
		env: append(os.Environ(),
			"KAFKA_CLUSTER_PORT="+strconv.Itoa(base),
			"KAFKA_CLUSTER_DIR="+filepath.Join(t.TempDir(), "cluster"),
			"KAFKA_CLUSTER_TOPICS=",
			"KAFKA_CLUSTER_HEAP=384m"),
	}
	for n := 0; n < 3; n++ {
		c.Addrs = append(c.Addrs, "127.0.0.1:"+strconv.Itoa(base+n))
	}
	t.Cleanup(func() { _ = c.run("down") })
	if err := c.run("up"); err != nil {
		t.Fatalf("start the cluster at %v: %v", c.Addrs, err)
	}
	return c
}

func (c *Cluster) run(args ...string) error {
	cmd := exec.Command(c.script, args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Logf("cluster.sh %v: %v\n%s", args, err, out)
	}
	return err
}

func (c *Cluster) node(verb string, node int) {
	c.t.Helper()
	if err := c.run(verb, strconv.Itoa(node)); err != nil {
		c.t.Fatalf("cluster.sh %s %d: %v", verb, node, err)
	}
}

// Kill SIGKILLs node (1..3).
func (c *Cluster) Kill(node int) { c.t.Helper(); c.node("kill", node) }

// Stop stops node (1..3), SIGTERM then SIGKILL after 30 s, keeping its data.
func (c *Cluster) Stop(node int) { c.t.Helper(); c.node("stop", node) }

// Start starts node (1..3) again on its data and waits until it is registered.
func (c *Cluster) Start(node int) { c.t.Helper(); c.node("start", node) }

// Leader returns the node ID (1..3) that leads partition of topic now, retrying for
// up to 30 s while the partition has no leader.
func Leader(t testing.TB, brokers []string, topic string, partition int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		md, err := Client(brokers).Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
		if err == nil && len(md.Topics) == 1 {
			for _, p := range md.Topics[0].Partitions {
				if p.ID == partition && p.Error == nil && p.Leader.ID > 0 {
					return p.Leader.ID
				}
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("partition %s/%d has no leader: %v", topic, partition, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
