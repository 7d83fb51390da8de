"""The test servers for the benchmarks: those of the environment when POSTDESK_TEST_* names them,
else a private set started with tests/servers.sh in a temp dir and stopped afterwards."""
import contextlib, os, re, shutil, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@contextlib.contextmanager
def test_server(variable):
    """Yields the host:port that POSTDESK_TEST_<variable> gives, starting the servers if needed."""
    with test_servers(variable) as values:
        yield values[0]


@contextlib.contextmanager
def test_servers(*variables):
    """Yields the values of POSTDESK_TEST_<variable> for each of `variables`, starting one set
    of servers if the environment does not name them all."""
    names = ["POSTDESK_TEST_" + v for v in variables]
    if all(os.environ.get(n) for n in names):
        yield [os.environ[n] for n in names]
        return
    d = tempfile.mkdtemp(prefix="pds.", dir="/tmp")
    script = os.path.join(ROOT, "tests/servers.sh")
    try:
        out = subprocess.run([script, "start", d], check=True, capture_output=True, text=True).stdout
        yield [re.search(n + r"=(\S+)", out).group(1) for n in names]
    finally:
        subprocess.run([script, "stop", d])
        time.sleep(1)
        shutil.rmtree(d, ignore_errors=True)
