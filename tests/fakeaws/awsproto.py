"""Wire formats of the answers: Query (XML), JSON 1.1 and REST-JSON, success and error."""
import json

QUERY = 'query'
JSON = 'json'
REST_JSON = 'rest-json'

NAMESPACES = {
    'sts': 'https://sts.amazonaws.com/doc/2011-06-15/',
    'iam': 'https://iam.amazonaws.com/doc/2010-05-08/',
    'ses': 'http://ses.amazonaws.com/doc/2010-12-01/',
    'sns': 'http://sns.amazonaws.com/doc/2010-03-31/',
}

XML_TYPE = 'text/xml'
JSON11_TYPE = 'application/x-amz-json-1.1'
JSON_TYPE = 'application/json'


class AwsError(Exception):
    """An AWS error answer: code, message, HTTP status."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class Response:
    __slots__ = ('status', 'content_type', 'body', 'request_id', 'code', 'extra_headers')

    def __init__(self, status, content_type, body, request_id=None, code=None,
                 extra_headers=()):
        self.status = status
        self.content_type = content_type
        self.body = body
        self.request_id = request_id
        self.code = code            # AWS error code, None on success
        self.extra_headers = extra_headers


def esc(text):
    text = str(text)
    if '&' in text or '<' in text or '>' in text:
        text = text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
    return text


def el(name, value):
    """<name>value</name> with the value escaped; booleans as true/false."""
    if value is True or value is False:
        value = 'true' if value else 'false'
    return '<%s>%s</%s>' % (name, esc(value), name)


def members(name, items):
    """<name><member>..</member>...</name> from already-built member bodies."""
    if not items:
        return '<%s/>' % name
    return '<%s><member>%s</member></%s>' % (name, '</member><member>'.join(items), name)


def query_ok(service, action, result, request_id):
    """Success answer; result is the inner XML of <ActionResult>, or None for no output."""
    body = ['<?xml version="1.0"?>\n<%sResponse xmlns="%s">' % (action, NAMESPACES[service])]
    if result is not None:
        body.append('<%sResult>%s</%sResult>' % (action, result, action))
    body.append('<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>'
                % (request_id, action))
    return Response(200, XML_TYPE, ''.join(body).encode(), request_id)


def query_error(service, err, request_id):
    ns = NAMESPACES.get(service, NAMESPACES['iam'])
    kind = 'Receiver' if err.status >= 500 else 'Sender'
    body = ('<?xml version="1.0"?>\n<ErrorResponse xmlns="%s"><Error><Type>%s</Type>'
            '<Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId>'
            '</ErrorResponse>' % (ns, kind, esc(err.code), esc(err.message), request_id))
    return Response(err.status, XML_TYPE, body.encode(), request_id, err.code)


def json_ok(obj, request_id, content_type=JSON11_TYPE):
    return Response(200, content_type, json.dumps(obj).encode(), request_id)


def json_error(err, request_id):
    body = json.dumps({'__type': err.code, 'Message': err.message}).encode()
    return Response(err.status, JSON11_TYPE, body, request_id, err.code)


def rest_json_error(err, request_id):
    body = json.dumps({'message': err.message}).encode()
    return Response(err.status, JSON_TYPE, body, request_id, err.code,
                    (('x-amzn-ErrorType', err.code),))


def error_response(protocol, service, err, request_id):
    if protocol == JSON:
        return json_error(err, request_id)
    if protocol == REST_JSON:
        return rest_json_error(err, request_id)
    return query_error(service, err, request_id)


def control_json(obj, status=200):
    return Response(status, JSON_TYPE, json.dumps(obj).encode())
