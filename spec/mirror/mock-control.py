"""
librdkafka's mock cluster, driven through librdkafka's own C API (ctypes): the same third-party
broker as `kcat -X test.mock.num.brokers=N`, plus what kcat cannot do: move a partition's leader,
take a broker down and up, make a request fail with a given Kafka error.

Usage: python3 mock_control.py BROKERS. Prints the bootstrap list on the first line, then reads
commands on stdin, one a line, and answers each with `ok` (or `error <text>`):
  topic NAME PARTITIONS            create a topic (replication factor = BROKERS)
  leader TOPIC PARTITION BROKER    make BROKER (1..N) the partition's leader
  down BROKER / up BROKER          close a broker's connections and refuse new ones / undo
  errors APIKEY CODE COUNT         the next COUNT requests of APIKEY fail with CODE
Ends (destroying the cluster) when stdin closes.
"""
import ctypes
import sys

lib = ctypes.CDLL("librdkafka.so.1")
lib.rd_kafka_conf_new.restype = ctypes.c_void_p
lib.rd_kafka_new.restype = ctypes.c_void_p
lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
lib.rd_kafka_mock_partition_set_leader.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]
lib.rd_kafka_mock_broker_set_down.argtypes = [ctypes.c_void_p, ctypes.c_int32]
lib.rd_kafka_mock_broker_set_up.argtypes = [ctypes.c_void_p, ctypes.c_int32]
lib.rd_kafka_mock_push_request_errors_array.argtypes = [
    ctypes.c_void_p,
    ctypes.c_int16,
    ctypes.c_size_t,
    ctypes.POINTER(ctypes.c_int),
]
lib.rd_kafka_err2str.restype = ctypes.c_char_p

brokers = int(sys.argv[1])
errstr = ctypes.create_string_buffer(512)
rk = lib.rd_kafka_new(0, lib.rd_kafka_conf_new(), errstr, 512)  # a producer handle owns the mock
if not rk:
    sys.exit("rd_kafka_new: " + errstr.value.decode())
cluster = lib.rd_kafka_mock_cluster_new(rk, brokers)
print(lib.rd_kafka_mock_cluster_bootstraps(cluster).decode(), flush=True)


def run(words):
    name, args = words[0], words[1:]
    if name == "topic":
        return lib.rd_kafka_mock_topic_create(cluster, args[0].encode(), int(args[1]), brokers)
    if name == "leader":
        return lib.rd_kafka_mock_partition_set_leader(cluster, args[0].encode(), int(args[1]), int(args[2]))
    if name == "down":
        return lib.rd_kafka_mock_broker_set_down(cluster, int(args[0]))
    if name == "up":
        return lib.rd_kafka_mock_broker_set_up(cluster, int(args[0]))
    if name == "errors":
        count = int(args[2])
        codes = (ctypes.c_int * count)(*([int(args[1])] * count))
        lib.rd_kafka_mock_push_request_errors_array(cluster, int(args[0]), count, codes)
        return 0
    raise ValueError("unknown command " + name)


for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    try:
        err = run(words)
        print("ok" if not err else "error " + lib.rd_kafka_err2str(err).decode(), flush=True)
    except Exception as e:  # an answer, not a crash: the spec says what went wrong
        print("error " + str(e), flush=True)

lib.rd_kafka_mock_cluster_destroy(cluster)
