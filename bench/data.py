"""A realistic customer export, generated: Japanese headers, mixed values, some bad rows."""

from __future__ import annotations

import random
from collections.abc import Iterator

HEADER = "メールアドレス,氏名,会社名,年齢,性別,購入回数,最終購入日,累計購入金額,メルマガ,会員ランク\r\n"
_FAMILY = ["佐藤", "鈴木", "高橋", "髙橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林"]
_GIVEN = ["太郎", "花子", "一郎", "美咲", "翔太", "陽菜", "大輔", "さくら"]
_DOMAINS = ["example.com", "example.co.jp", "mail.example.jp", "shop.example.net", "example.org"]


def customer_lines(rows: int, seed: int = 7) -> Iterator[str]:
    rng = random.Random(seed)
    yield HEADER
    for i in range(rows):
        email = f"user{i}@{_DOMAINS[i % len(_DOMAINS)]}" if i % 200 else f"broken-{i}"
        name = f"{rng.choice(_FAMILY)} {rng.choice(_GIVEN)}"
        company = f'"株式会社{rng.choice(_FAMILY)}, 本社"' if i % 3 == 0 else ""
        date = f"202{rng.randint(0, 5)}/{rng.randint(1, 12)}/{rng.randint(1, 28)}"
        yield (
            f"{email},{name},{company},{rng.randint(18, 80)},{rng.choice('男女')},{rng.randint(0, 30)},"
            f"{date},{rng.randint(0, 500000)},{rng.choice(['はい', 'いいえ', ''])},{rng.choice('ABC')}\r\n"
        )


def customer_csv(rows: int, encoding: str = "utf-8") -> bytes:
    return "".join(customer_lines(rows)).encode(encoding)
