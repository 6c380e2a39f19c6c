"""What `make run` prints once the stack is up: where everything answers, and how to try it."""

from __future__ import annotations

from pathlib import Path

from devstack import state
from devstack.state import Restored


def text(
    env: dict[str, str], local_dir: Path, restored: Restored | None, sweep_seconds: float, save_every: float
) -> str:
    data = local_dir / state.NAME
    if restored is not None:
        kept = f"{data}, restored: {restored.describe()}"
    else:
        kept = f"{data} (new; examples/config/*.yaml loaded)"
    users = ""
    if restored is not None and restored.users:  # passwords are not saved: say which one works
        users = f"""
  console users        {restored.users} restored; each signs in with SODATE_CONSOLE_PASSWORD (passwords
                       are not saved; one invited who had not chosen theirs yet still chooses)"""
    return f"""
Sodate is running locally.
  AWS emulator (moto)  {env["AWS_ENDPOINT_URL"]}
  API (chalice)        {env["SODATE_API"]}
  bucket               {env["SODATE_BUCKET"]}
  demo site            {env["SODATE_DEMO_URL"]}  (site id {env["SODATE_SITE_ID"]})
  sign-up form         {env["SODATE_DEMO_URL"]}newsletter, and on its own page:
                       {env["SODATE_API"]}/forms/{env["SODATE_SITE_ID"]}/newsletter
  console              {env["SODATE_CONSOLE_URL"]}  (SODATE_CONSOLE_USER and _PASSWORD in settings){users}
  mailbox              {env["SODATE_MAILBOX_URL"]}  (what SES took; SES's delivery, bounce
                       and complaint events are published to the feedback queue as on AWS)
  LINE stand-in        {env["SODATE_LINE_API"]}/_standin/  (what the bot sent; follow, write,
                       block as a LINE user: signed webhooks to {env["SODATE_API"]}/line/webhook)
  texts (SMS stand-in)  {env["SODATE_SMS_VOICE_URL"]}/_standin/  (what End User Messaging SMS took;
                       each text's events go to the sms-events topic as on AWS)
  event pumps          {env["SODATE_IMPORT_QUEUE_NAME"]} -> app.import_file,
                       events stream -> app.events_changed, contacts stream -> app.contacts_changed
  schedules            tick and sweep every {sweep_seconds:g} s, rfm and dates hourly
  local data           {kept}
                       saved on stop and every {save_every:g} s; `make reset` forgets it
  settings             {local_dir / "env"}

Try it:
  set -a; . {local_dir / "env"}; set +a
  aws s3 cp customers.csv s3://$SODATE_BUCKET/imports/customers.csv
  aws s3 cp s3://$SODATE_BUCKET/results/customers.csv.json -
  curl -H "Authorization: Bearer $SODATE_ADMIN_TOKEN" "$SODATE_API/admin/contacts?email=someone@example.com"
  curl -H "Authorization: Bearer $SODATE_ADMIN_TOKEN" "$SODATE_API/admin/segments"

Ctrl-C stops everything."""
