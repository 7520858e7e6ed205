#!/usr/bin/env python3
"""Write a large fake-AWS scenario from a seed.

    python3 tests/fakeaws/gen_scenario.py --accounts A --users U --seed S
            [--due-fraction F] [--inactive-fraction I] [--summary] [-o FILE]

Accounts are 100000000001.. (the management account 111111111111 comes
first and has no users); about 3 % are SUSPENDED. Per user, from the seed:
10 % have no key; of those with a key, about F (default 0.3) hold an active
key at least 80 days old (due or overdue), about I (default 0.08) also hold
an old Inactive key (100-400 days: due for deletion) and 7 % a newer active
replacement; 5 % are tagged Exempt, 5 % have no email tag and 1 % an invalid one.

--summary prints to stderr, as one JSON line, how many users of ACTIVE
accounts have an action due on the scenario's day under the default policy
(80/90/100 days, reminders 3 days before a deactivation): see due_summary().
The same seed and options always give the same file.
"""
import argparse
import json
import random
import sys

MANAGEMENT = '111111111111'


ROTATE, DEACTIVATE, DELETE, REMINDER = 80, 90, 100, 3
REPLACEMENT_FRACTION = 0.07     # of users with a key: a newer active second key


def gen_user(rng, account_index, u, due_fraction, inactive_fraction=0.08):
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
        # One draw decides the second key (the draws stay in the same order
        # whatever the fractions, so the defaults give the same files as ever).
        second = rng.random()
        if second < inactive_fraction:
            keys.append({'status': 'Inactive', 'age_days': rng.randint(100, 400)})
        elif second < inactive_fraction + REPLACEMENT_FRACTION and age >= 10:
            keys.append({'status': 'Active', 'age_days': rng.randint(0, age - 1),
                         'last_used_days': 0})
    for k in keys:
        if k.get('last_used_days', 0) is None:
            del k['last_used_days']
    return {'name': name, 'tags': tags, 'keys': keys}


def generate(accounts, users, seed, due_fraction=0.3, inactive_fraction=0.08):
    for name, v in (('due fraction', due_fraction), ('inactive fraction', inactive_fraction)):
        if not 0.0 <= v <= 1.0:
            raise ValueError('%s %r is not between 0 and 1' % (name, v))
    if inactive_fraction + REPLACEMENT_FRACTION > 1.0:
        raise ValueError('inactive fraction %r leaves no room for the %.2f of replacement keys'
                         % (inactive_fraction, REPLACEMENT_FRACTION))
    rng = random.Random(seed)
    out = [{'id': MANAGEMENT, 'name': 'management', 'users': []}]
    for a in range(accounts):
        status = 'SUSPENDED' if rng.random() < 0.03 else 'ACTIVE'
        out.append({'id': '%012d' % (100000000001 + a), 'name': 'account-%d' % a,
                    'status': status,
                    'users': [gen_user(rng, a, u, due_fraction, inactive_fraction)
                              for u in range(users)]})
    return {'management_account': MANAGEMENT, 'seed': seed, 'accounts': out}


def user_due(user):
    """The reasons (a set, empty when nothing is due) the default policy
    (docs/policy.md: R 80, D 90, X 100, reminders 3 days, enforce off) acts on
    this generated user on the scenario's day: 'rotate' (newest active key
    >= R: a new key, or a report when the user has no valid address or no free
    slot), 'delete' (an inactive key >= X), 'deactivate' / 'remind' (the older
    of two active keys at >= D / >= D - 3 days, the newer one >= 7 days old).
    An Exempt user has nothing due. Only what this generator produces is
    covered (inactive keys are never ours: the state directory starts empty)."""
    if any(k.lower() == 'exempt' for k in user['tags']):
        return set()
    why = set()
    active = sorted((k['age_days'] for k in user['keys'] if k['status'] == 'Active'),
                    reverse=True)
    if any(k['status'] != 'Active' and k['age_days'] >= DELETE for k in user['keys']):
        why.add('delete')
    if active and active[-1] >= ROTATE:
        why.add('rotate')
    if len(active) >= 2 and active[-1] >= DEACTIVATE - ROTATE - REMINDER:
        if active[0] >= DEACTIVATE and active[-1] >= DEACTIVATE - ROTATE:
            why.add('deactivate')
        elif active[0] >= DEACTIVATE - REMINDER:
            why.add('remind')
    return why


def due_summary(scenario):
    """Counts over the users of ACTIVE accounts: users, those with any action
    due (due, due_share) and per reason (a user may have several)."""
    users = due = 0
    reasons = {'rotate': 0, 'delete': 0, 'deactivate': 0, 'remind': 0}
    for acc in scenario['accounts']:
        if acc.get('status', 'ACTIVE') != 'ACTIVE':
            continue
        for user in acc['users']:
            users += 1
            why = user_due(user)
            due += bool(why)
            for r in why:
                reasons[r] += 1
    return {'users': users, 'due': due, 'due_share': due / users if users else 0.0,
            **reasons}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--accounts', type=int, required=True)
    p.add_argument('--users', type=int, required=True, help='users per account')
    p.add_argument('--seed', type=int, required=True)
    p.add_argument('--due-fraction', type=float, default=0.3,
                   help='share of the users with a key whose active key is at least 80 '
                   'days old (default 0.3)')
    p.add_argument('--inactive-fraction', type=float, default=0.08,
                   help='share of the users with a key who also hold an Inactive key '
                   '100-400 days old, due for deletion (default 0.08)')
    p.add_argument('--summary', action='store_true',
                   help='print the users with an action due to stderr (one JSON line)')
    p.add_argument('-o', '--output', help='output file (default: stdout)')
    args = p.parse_args(argv)
    try:
        scenario = generate(args.accounts, args.users, args.seed, args.due_fraction,
                            args.inactive_fraction)
    except ValueError as err:
        p.error(str(err))
    if args.output:
        with open(args.output, 'w', encoding='utf-8') as f:
            json.dump(scenario, f, separators=(',', ':'))
    else:
        json.dump(scenario, sys.stdout, separators=(',', ':'))
    if args.summary:
        print(json.dumps(due_summary(scenario)), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
