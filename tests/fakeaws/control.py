"""The control API under /_fake/ (JSON in, JSON out). Never delayed or faulted."""
import json

from awsproto import control_json
from faults import FaultError
from scenario import DAY, ScenarioError, iso, parse_time


class ControlError(Exception):
    pass


def _body(req):
    try:
        return json.loads(req.body or b'null')
    except ValueError:
        raise ControlError('body is not JSON') from None


def state(app, req):
    return app.world.dump()


def load(app, req):
    scenario = _body(req)
    app.load(scenario)
    return _summary(app)


def reset(app, req):
    app.reset()
    return _summary(app)


def _summary(app):
    world = app.world
    users = sum(len(a.users) for a in world.accounts.values())
    return {'now': iso(world.clock.now()), 'accounts': len(world.accounts),
            'users': users, 'keys': len(world.keys)}


def clock(app, req):
    body = _body(req) or {}
    if not isinstance(body, dict):
        raise ControlError('clock wants a JSON object')
    c = app.world.clock
    if 'now' in body:
        c.set(parse_time(body['now']))
    if 'advance_days' in body:
        c.advance(float(body['advance_days']) * DAY)
    if 'advance_seconds' in body:
        c.advance(float(body['advance_seconds']))
    return {'now': iso(c.now())}


def emails(app, req):
    return app.emails


def sns(app, req):
    return app.sns_messages


def stats(app, req):
    return app.stats.to_json()


def requests(app, req):
    return app.stats.log


def faults(app, req):
    if req.method == 'DELETE':
        app.faults.clear()
        return {'rules': []}
    if req.method == 'POST':
        app.faults.add(_body(req))
    return {'rules': [r.to_json() for r in app.faults.rules]}


ROUTES = {
    ('GET', 'state'): state,
    ('POST', 'load'): load,
    ('POST', 'reset'): reset,
    ('POST', 'clock'): clock,
    ('GET', 'clock'): clock,
    ('GET', 'emails'): emails,
    ('GET', 'sns'): sns,
    ('GET', 'stats'): stats,
    ('GET', 'requests'): requests,
    ('GET', 'faults'): faults,
    ('POST', 'faults'): faults,
    ('DELETE', 'faults'): faults,
}


def handle(app, req):
    name = req.path[len('/_fake/'):].strip('/')
    route = ROUTES.get((req.method, name))
    if route is None:
        known = sorted({n for _, n in ROUTES})
        if any(n == name for _, n in ROUTES):
            return control_json({'error': 'method %s not allowed' % req.method}, 405)
        return control_json({'error': 'unknown control path', 'paths': known}, 404)
    try:
        return control_json(route(app, req))
    except (ControlError, ScenarioError, FaultError, TypeError, ValueError, KeyError) as err:
        return control_json({'error': str(err)}, 400)
