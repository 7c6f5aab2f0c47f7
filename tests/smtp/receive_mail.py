"""A real SMTP server on 127.0.0.1 for the notification tests (aiosmtpd).

Usage: receive_mail.py PORT

Prints `listening 127.0.0.1:PORT` once it accepts connections, then one JSON line per message it
receives: the envelope's sender and recipients, the Subject header and the plain-text body. It
stops when its standard input closes, so it ends with the test that started it.
"""

import json
import sys
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


class PrintEachMessage:
    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        print(
            json.dumps(
                {
                    "from": envelope.mail_from,
                    "to": envelope.rcpt_tos,
                    "subject": str(message["subject"] or ""),
                    "body": body.get_content() if body is not None else "",
                }
            ),
            flush=True,
        )
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    controller = Controller(PrintEachMessage(), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"listening 127.0.0.1:{port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
