"""The contact fields an import can fill, and the header words that name them.

Headers are compared after NFKC (full-width letters become ASCII), lower-casing
and dropping spaces, underscores, hyphens and dots: "E-Mail Address",
"email_address" and "ＥＭＡＩＬ" all read as "emailaddress".
"""

from __future__ import annotations

import unicodedata
from enum import Enum


class Kind(Enum):
    EMAIL = "email"
    TEXT = "text"
    INT = "int"
    MONEY = "money"
    DATE = "date"
    GENDER = "gender"
    CONSENT = "consent"


FIELD_KINDS: dict[str, Kind] = {
    "email": Kind.EMAIL,
    "name": Kind.TEXT,
    "last_name": Kind.TEXT,
    "first_name": Kind.TEXT,
    "company": Kind.TEXT,
    "phone": Kind.TEXT,
    "age": Kind.INT,
    "gender": Kind.GENDER,
    "birthday": Kind.DATE,
    "customer_status": Kind.TEXT,
    "purchase_count": Kind.INT,
    "first_purchase_date": Kind.DATE,
    "last_purchase_date": Kind.DATE,
    "last_product": Kind.TEXT,
    "total_spent": Kind.MONEY,
    "language": Kind.TEXT,
    "timezone": Kind.TEXT,
    "consent": Kind.CONSENT,
    "sms_consent": Kind.CONSENT,  # permission to text the phone number: sms_permission (contact.py)
}

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "emailaddress",
        "mail",
        "mailaddress",
        "メールアドレス",
        "メール",
        "eメール",
        "eメールアドレス",
        "電子メール",
        "メアド",
        "pcメールアドレス",
    ),
    "name": (
        "name",
        "fullname",
        "contactname",
        "customername",
        "氏名",
        "名前",
        "お名前",
        "顧客名",
        "フルネーム",
    ),
    "last_name": ("lastname", "surname", "familyname", "姓", "苗字", "名字"),
    "first_name": ("firstname", "givenname", "名", "下の名前"),
    "company": (
        "company",
        "companyname",
        "organization",
        "organisation",
        "account",
        "会社名",
        "会社",
        "企業名",
        "勤務先",
        "法人名",
    ),
    "phone": (
        "phone",
        "phonenumber",
        "tel",
        "telephone",
        "mobile",
        "mobilephone",
        "電話番号",
        "電話",
        "携帯電話",
        "携帯番号",
        "携帯電話番号",
    ),
    "age": ("age", "年齢"),
    "gender": ("gender", "sex", "性別"),
    "birthday": ("birthday", "birthdate", "dateofbirth", "dob", "生年月日", "誕生日"),
    "customer_status": (
        "customerstatus",
        "status",
        "customertype",
        "lifecyclestage",
        "顧客ステータス",
        "顧客区分",
        "会員ステータス",
        "会員区分",
        "ステータス",
    ),
    "purchase_count": (
        "purchasecount",
        "purchases",
        "orders",
        "ordercount",
        "numberoforders",
        "購入回数",
        "注文回数",
        "購入数",
    ),
    "last_purchase_date": (
        "lastpurchasedate",
        "lastpurchase",
        "lastorderdate",
        "lastorder",
        "最終購入日",
        "最終注文日",
        "最終購入日時",
    ),
    "first_purchase_date": (
        "firstpurchasedate",
        "firstpurchase",
        "firstorderdate",
        "初回購入日",
        "初回注文日",
    ),
    "last_product": (
        "lastproduct",
        "lastsku",
        "lastitem",
        "lastproductsku",
        "最終購入商品",
        "最終購入商品コード",
        "最終購入sku",
    ),
    "total_spent": (
        "totalspent",
        "ltv",
        "totalsales",
        "revenue",
        "totalrevenue",
        "lifetimevalue",
        "累計購入金額",
        "購入金額合計",
        "累計金額",
        "購入総額",
        "累計売上",
    ),
    "language": ("language", "lang", "locale", "preferredlanguage", "言語", "使用言語"),
    "timezone": ("timezone", "tz", "timezonename", "タイムゾーン"),
    "consent": (
        "consent",
        "optin",
        "emailoptin",
        "subscribed",
        "marketingconsent",
        "acceptsmarketing",
        "newsletter",
        "メール配信",
        "配信許可",
        "メルマガ",
        "メルマガ購読",
        "配信同意",
        "メール配信希望",
        "メルマガ配信",
    ),
    "sms_consent": (
        "smsconsent",
        "smsoptin",
        "acceptssms",
        "sms配信",
        "sms配信許可",
        "sms配信希望",
        "sms許可",
        "sms受信",
        "ショートメッセージ配信",
    ),
}


def header_key(header: str) -> str:
    """The comparable form of a header cell."""
    text = unicodedata.normalize("NFKC", header).lower()
    return "".join(c for c in text if c not in " \t_-.・　")


SYNONYMS: dict[str, str] = {header_key(word): field for field, words in _SYNONYMS.items() for word in words}
