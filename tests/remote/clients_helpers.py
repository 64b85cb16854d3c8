"""GraphQL documents of remote clients (shared by the clients and demo tests)."""

from __future__ import annotations

REGISTER = """mutation($input: ClientRegisterInput!) {
  clientRegister(input: $input) { secret pairingKey pairingKeyExpiresAt errors { code field message } } }"""
HEARTBEAT = """mutation($secret: String!) {
  clientHeartbeat(input: {secret: $secret}) {
    paired name connectionStatus pairingKeyExpiresAt errors { code field message } } }"""
PAIR = """mutation($key: String!, $name: String!) {
  clientPair(input: {key: $key, name: $name}) {
    client { id name connectionStatus lastHeartbeatAt } errors { code field message } } }"""
LIST = """query { clients(first: 20) { totalCount nodes { id name version connectionStatus lastHeartbeatAt } } }"""
