"""The mail that asks a person to confirm a sign-up, when the form names no template of its own.

It says what was asked for and by which form, and that nothing happens if they do
nothing; the link opens a page whose button confirms (a mail scanner that follows
the link confirms nothing).
"""

from __future__ import annotations

from functools import lru_cache

from .templates import MailTemplate

SUBJECT = "ご登録の確認 / Please confirm your subscription"
HTML = """<!doctype html><html><body style="font-family:sans-serif">
<p>{{ form }} へのご登録ありがとうございます。下のボタンから登録を確定してください。</p>
<p>Thank you for signing up to {{ form }}. Please confirm with the button below.</p>
<p><a href="{{ confirm_url }}" style="display:inline-block;padding:12px 20px;background:#2b6e3f;color:#fff;
text-decoration:none;border-radius:4px">登録を確定する / Confirm</a></p>
<p style="color:#555">お心当たりがない場合はこのメールを破棄してください。確定しない限り配信されません。<br>
If you did not ask for this, ignore this mail: nothing is sent unless you confirm.</p>
</body></html>"""
TEXT = """{{ form }} へのご登録ありがとうございます。
次のページで登録を確定してください / Please confirm your subscription:
{{ confirm_url }}

お心当たりがない場合はこのメールを破棄してください。確定しない限り配信されません。
If you did not ask for this, ignore this mail: nothing is sent unless you confirm.
"""


@lru_cache(maxsize=1)
def default_confirmation() -> MailTemplate:
    return MailTemplate(SUBJECT, HTML, TEXT)
