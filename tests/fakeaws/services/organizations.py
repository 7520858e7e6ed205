"""Organizations (JSON 1.1, AWSOrganizationsV20161128): ListAccounts, DescribeOrganization.

ListAccounts: the management account only (AccessDeniedException otherwise).
DescribeOrganization: any account of the organization, as the AWS docs say.
"""
from awsproto import AwsError
from scenario import ORG_ID
from services import decode_marker, encode_marker, paginate

TARGET_PREFIX = 'AWSOrganizationsV20161128.'
PAGE_MAX = 20


def _check_management(ctx):
    if ctx.cred.account != ctx.world.management_account:
        raise AwsError('AccessDeniedException',
                       "You don't have permissions to access this resource.", 400)


def _account_json(world, acc):
    return {
        'Id': acc.id,
        'Arn': 'arn:aws:organizations::%s:account/%s/%s' % (world.management_account, ORG_ID, acc.id),
        'Email': acc.email,
        'Name': acc.name,
        'Status': acc.status,
        'State': acc.status,
        'JoinedMethod': 'CREATED' if acc.id == world.management_account else 'INVITED',
        'JoinedTimestamp': acc.joined,
    }


def list_accounts(ctx):
    _check_management(ctx)
    params = ctx.params
    size = params.get('MaxResults', PAGE_MAX)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= PAGE_MAX:
        raise AwsError('InvalidInputException', 'You provided a value that does not match '
                       'the required pattern: MaxResults must be between 1 and 20.')
    world = ctx.world
    accounts = list(world.accounts.values())
    start, stop, token = paginate(world, 'accounts', params.get('NextToken'), size, len(accounts),
                                  'InvalidInputException')
    out = {'Accounts': [_account_json(world, a) for a in accounts[start:stop]]}
    if token is not None:
        out['NextToken'] = token
    return out


def describe_organization(ctx):
    world = ctx.world
    mgmt = world.accounts[world.management_account]
    return {'Organization': {
        'Id': ORG_ID,
        'Arn': 'arn:aws:organizations::%s:organization/%s' % (mgmt.id, ORG_ID),
        'FeatureSet': 'ALL',
        'MasterAccountArn': 'arn:aws:organizations::%s:account/%s/%s' % (mgmt.id, ORG_ID, mgmt.id),
        'MasterAccountId': mgmt.id,
        'MasterAccountEmail': mgmt.email,
        'AvailablePolicyTypes': [],
    }}


ACTIONS = {
    'ListAccounts': list_accounts,
    'DescribeOrganization': describe_organization,
}
