"""python3 tests/fakeaws [--port N] [--scenario FILE] [--latency-ms N] [--iam-rps-per-account N]"""
import argparse
import asyncio
import json
import os
import resource
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from app import App  # noqa: E402
from scenario import ScenarioError  # noqa: E402
from server import Server  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog='fakeaws', description='Fake AWS endpoint (STS, '
                                'Organizations, IAM, SES, SNS) for tests.')
    p.add_argument('--port', type=int, default=0, help='TCP port on 127.0.0.1 (0 = any free)')
    p.add_argument('--scenario', help='scenario JSON file (default: the built-in organization)')
    p.add_argument('--latency-ms', type=float, default=0.0, help='delay every AWS answer')
    p.add_argument('--iam-rps-per-account', type=float, default=0.0,
                   help='IAM token bucket per account (burst = rate); 0 = unlimited')
    return p.parse_args(argv)


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


async def serve(args, app):
    server = Server(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = await server.start(args.port)
    print('listening on http://127.0.0.1:%d' % port, flush=True)
    await stop.wait()
    server.close()


def main(argv=None):
    args = parse_args(argv)
    scenario = None
    try:
        if args.scenario:
            with open(args.scenario, encoding='utf-8') as f:
                scenario = json.load(f)
        app = App(scenario, args.latency_ms, args.iam_rps_per_account)
    except (OSError, ValueError, ScenarioError) as err:
        print('fakeaws: %s: %s' % (args.scenario, err), file=sys.stderr)
        return 2
    raise_fd_limit()
    try:
        asyncio.run(serve(args, app))
    except OSError as err:
        print('fakeaws: %s' % err, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
