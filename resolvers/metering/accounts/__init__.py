"""Accounts of the metering cloud (issue 17): sign-up and sign-in with a one-time code sent by e-mail or SMS, the
profile's phone number, and the SMS gateway. Here, not in identity, because SMS goes through monitoring's
outbound-delivery engine."""
