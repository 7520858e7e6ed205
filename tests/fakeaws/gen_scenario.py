#!/usr/bin/env python3
"""Write a large fake-AWS scenario from a seed.

    python3 tests/fakeaws/gen_scenario.py --accounts A --users U --seed S
            [--due-fraction F] [-o FILE]

Accounts are 100000000001.. (the management account 111111111111 comes
first and has no users); about 3 % are SUSPENDED. Per user, from the seed:
about F (default 0.3) hold an active key at least 80 days old (due or
overdue), some hold two keys (an old inactive one to clean up, or a newer
replacement), 5 % are tagged Exempt, 5 % have no email tag and 1 % an invalid one.
"""
import argparse
import json
import random
import sys

MANAGEMENT = '111111111111'


def gen_user(rng, account_index, u, due_fraction):
    name = 'user-%d-%04d' % (account_index, u)
    tags = {}
    roll = rng.random()
    if roll < 0.05:
        pass                                    # no email tag
    elif roll < 0.06:
        tags['email'] = 'not-an-address'
    else:
        tags['email'] = '%s@example.com' % name
    if rng.random() < 0.05:
        tags['Exempt'] = 'true'
    if rng.random() < 0.2:
        tags['team'] = rng.choice(('ops', 'dev', 'data', 'sec'))
    keys = []
    if rng.random() < 0.9:                      # 10 % have no key at all
        age = rng.randint(80, 140) if rng.random() < due_fraction else rng.randint(0, 79)
        keys.append({'status': 'Active', 'age_days': age,
                     'last_used_days': rng.randint(0, 30) if rng.random() < 0.8 else None})
        second = rng.random()
        if second < 0.08:
            keys.append({'status': 'Inactive', 'age_days': rng.randint(100, 400)})
        elif second < 0.15 and age >= 10:
            keys.append({'status': 'Active', 'age_days': rng.randint(0, age - 1),
                         'last_used_days': 0})
    for k in keys:
        if k.get('last_used_days', 0) is None:
            del k['last_used_days']
    return {'name': name, 'tags': tags, 'keys': keys}


def generate(accounts, users, seed, due_fraction=0.3):
    rng = random.Random(seed)
    out = [{'id': MANAGEMENT, 'name': 'management', 'users': []}]
    for a in range(accounts):
        status = 'SUSPENDED' if rng.random() < 0.03 else 'ACTIVE'
        out.append({'id': '%012d' % (100000000001 + a), 'name': 'account-%d' % a,
                    'status': status,
                    'users': [gen_user(rng, a, u, due_fraction) for u in range(users)]})
    return {'management_account': MANAGEMENT, 'seed': seed, 'accounts': out}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--accounts', type=int, required=True)
    p.add_argument('--users', type=int, required=True, help='users per account')
    p.add_argument('--seed', type=int, required=True)
    p.add_argument('--due-fraction', type=float, default=0.3,
                   help='share of users whose active key is at least 80 days old')
    p.add_argument('-o', '--output', help='output file (default: stdout)')
    args = p.parse_args(argv)
    scenario = generate(args.accounts, args.users, args.seed, args.due_fraction)
    if args.output:
        with open(args.output, 'w', encoding='utf-8') as f:
            json.dump(scenario, f, separators=(',', ':'))
    else:
        json.dump(scenario, sys.stdout, separators=(',', ':'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
