"""The forwarding adapters, one delivery kind per platform, registered with the outbound-delivery engine when this
package is imported (resolvers.monitoring.domain imports it through the forwarding schema)."""

from __future__ import annotations

from models import forwarding as fw
from resolvers.monitoring.delivery.engine import ADAPTERS
from resolvers.monitoring.forwarding.adapters import http, mqtt

#: The delivery kind of each platform.
KINDS = {
    fw.Platform.INFLUXDB: "forwarding.influxdb",
    fw.Platform.BLOCKBAX: "forwarding.blockbax",
    fw.Platform.AWS_IOT_CORE: "forwarding.aws_iot_core",
    fw.Platform.AZURE_IOT_HUB: "forwarding.azure_iot_hub",
}

ADAPTERS.register(KINDS[fw.Platform.INFLUXDB], http.send_influxdb)
ADAPTERS.register(KINDS[fw.Platform.BLOCKBAX], http.send_blockbax)
ADAPTERS.register(KINDS[fw.Platform.AWS_IOT_CORE], mqtt.send_aws_iot_core)
ADAPTERS.register(KINDS[fw.Platform.AZURE_IOT_HUB], mqtt.send_azure_iot_hub)
