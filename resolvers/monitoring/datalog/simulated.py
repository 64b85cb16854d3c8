"""What a simulated router answers to discovery requests (the demo's link, and the test routers): a small plant
with a pump on each protocol, shaped like a real router's answer."""

from __future__ import annotations

import random
from typing import Any

OPC_UA_TREE = {
    "i=85": [("ns=2;s=Pump1", "Pump1", "Object", True)],
    "ns=2;s=Pump1": [
        ("ns=2;s=Pump1.Temperature", "Temperature", "Variable", False),
        ("ns=2;s=Pump1.Pressure", "Pressure", "Variable", False),
        ("ns=2;s=Pump1.Flow", "Flow", "Variable", False),
    ],
}


def answer(request: dict) -> dict[str, Any]:
    """The `result` of a successful answer to `request` ({action, params})."""
    action, params = request.get("action"), request.get("params") or {}
    rng = random.Random()
    if action == "OPC_UA_BROWSE":
        children = OPC_UA_TREE.get(params.get("nodeId") or "i=85", [])
        return {
            "nodes": [
                {"nodeId": node, "browseName": name, "displayName": name, "nodeClass": kind, "hasChildren": more}
                for node, name, kind, more in children
            ]
        }
    if action == "BACNET_SCAN":
        return {"devices": [{"deviceInstance": 1001, "address": "192.168.1.30", "name": "AHU-1", "vendor": "Demo"}]}
    if action == "BACNET_EPICS":
        return {
            "objects": [
                {
                    "objectType": "analog-input",
                    "instance": 1,
                    "name": "Supply temp",
                    "presentValue": "21.5",
                    "units": "degrees-celsius",
                },
                {"objectType": "binary-output", "instance": 3, "name": "Fan", "presentValue": "active", "units": ""},
            ]
        }
    if action == "MODBUS_READ":
        start, count = int(params.get("register") or 0), min(int(params.get("count") or 1), 125)
        return {"registers": [{"register": start + n, "value": rng.randint(0, 65535)} for n in range(count)]}
    if action == "SNMP_WALK":
        base = params.get("baseOid") or "1.3.6.1.2.1.1"
        return {
            "varbinds": [
                {"oid": f"{base}.1.0", "type": "OCTET STRING", "value": "Demo UPS"},
                {"oid": f"{base}.3.0", "type": "TimeTicks", "value": str(rng.randint(1000, 999999))},
            ]
        }
    return {}
