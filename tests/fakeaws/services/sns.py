"""SNS (Query, 2010-03-31): Publish to a topic, recorded in app.sns_messages."""
import uuid

from awsproto import AwsError, el

MAX_MESSAGE_BYTES = 262144


def _invalid(what):
    return AwsError('InvalidParameter', 'Invalid parameter: %s' % what)


def publish(ctx):
    params = ctx.params
    arn = params.get('TopicArn') or params.get('TargetArn')
    if not arn:
        raise _invalid('TopicArn or TargetArn Reason: no value for required parameter')
    name = arn.rsplit(':', 1)[-1]
    if not arn.startswith('arn:') or name not in ctx.world.sns_topics:
        raise AwsError('NotFound', 'Topic does not exist', 404)
    message = params.get('Message')
    if message is None or message == '':
        raise _invalid('Empty message')
    if len(message.encode('utf-8')) > MAX_MESSAGE_BYTES:
        raise _invalid('Message too long')
    subject = params.get('Subject')
    if subject is not None:
        if (subject == '' or len(subject) >= 100
                or any(ord(c) < 32 or ord(c) == 127 for c in subject)):
            raise _invalid('Subject')
    ctx.app.sns_messages.append({'topic': arn, 'subject': subject, 'message': message})
    return el('MessageId', str(uuid.uuid4()))


ACTIONS = {
    'Publish': publish,
}
