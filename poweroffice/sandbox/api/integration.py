"""GET /ClientIntegrationInformation: the client, its subscriptions and our privileges."""

from ..responses import Response, json_response
from ..serialize import serialize
from ..state import SandboxState
from .context import Ctx


def get_client_information(ctx: Ctx) -> Response:
    ctx.no_query()
    client = ctx.client
    return json_response(
        200,
        serialize(
            {
                "ActiveClientSubscriptions": list(client["subscriptions"]),
                "ClientId": client["client_id"],
                "ClientName": client["name"],
                "InvalidPrivileges": SandboxState.invalid_privileges(client),
                "ValidPrivileges": SandboxState.valid_privileges(client),
            },
            "ClientIntegrationInformationDto",
        ),
    )
