"""The vocabulary of ``flask gen-data``: Japanese titles, descriptions, places and answers.

Each category has its own things (側溝, 防犯灯, 遊具 ...) and what is wrong with them; a thing's
weight falls with its rank (Zipf-like), so some two-character words are frequent (道路, 街灯) and
some rare (鉄塔), as in a real ward office's log, and the search has both kinds to find.
Everything is drawn from the ``random.Random`` it is given, so a seed gives the same texts.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

# Towns (町名) of each ward, by ward code: where requests are about and who sends them.
TOWNS = {
    "CHUO": (
        "手取本町",
        "上通町",
        "下通",
        "新町",
        "水前寺",
        "大江",
        "渡鹿",
        "帯山",
        "九品寺",
        "本荘",
        "出水",
        "京町",
    ),
    "HIGASHI": ("健軍", "長嶺", "月出", "尾ノ上", "佐土原", "画図", "秋津", "戸島", "小山", "託麻原"),
    "NISHI": ("春日", "島崎", "花園", "河内町", "池上町", "上熊本", "城山", "松尾町", "小島"),
    "MINAMI": ("城南町", "富合町", "川尻", "田迎", "近見", "飽田", "天明", "幸田", "平成", "南高江"),
    "KITA": ("植木町", "清水", "龍田", "武蔵ケ丘", "楡木", "麻生田", "八景水谷", "北部", "徳王"),
}
# Approximate centre (latitude, longitude) of each ward, for the map's markers.
WARD_POINTS = {
    "CHUO": (32.800, 130.710),
    "HIGASHI": (32.790, 130.770),
    "NISHI": (32.800, 130.650),
    "MINAMI": (32.720, 130.700),
    "KITA": (32.880, 130.700),
}
LANDMARKS = (
    "小学校前",
    "中学校付近",
    "公民館横",
    "交差点",
    "バス停付近",
    "団地内",
    "駅南口",
    "郵便局前",
    "神社裏",
)

# Per category: (weight of the category, things in rank order, what is wrong, what is asked).
_CATEGORIES: dict[str, tuple[float, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "道路・交通安全": (
        24,
        (
            "道路",
            "歩道",
            "側溝",
            "横断歩道",
            "カーブミラー",
            "ガードレール",
            "通学路",
            "市道",
            "路面標示",
            "縁石",
        ),
        (
            "に穴があいている",
            "がひび割れている",
            "に段差がある",
            "が見えにくい",
            "が破損している",
            "の蓋ががたつく",
        ),
        ("補修", "点検", "安全対策", "改良", "白線の引き直し"),
    ),
    "防犯・街灯": (
        16,
        ("街灯", "防犯灯", "防犯カメラ", "照明", "夜道", "看板"),
        ("が切れている", "が暗い", "が点滅している", "が設置されていない", "が傾いている"),
        ("交換", "増設", "設置", "修理"),
    ),
    "公園・緑地": (
        11,
        ("公園", "遊具", "ベンチ", "トイレ", "樹木", "芝生", "砂場", "フェンス"),
        ("が老朽化している", "が壊れている", "の枝が伸びている", "が汚れている", "に雑草が茂っている"),
        ("修繕", "剪定", "清掃", "更新"),
    ),
    "ごみ・環境衛生": (
        13,
        ("ごみステーション", "不法投棄", "空き家", "悪臭", "カラス", "野良猫", "騒音", "ポイ捨て"),
        ("が目立つ", "の被害がある", "で困っている", "が続いている", "が放置されている"),
        ("対策", "指導", "回収", "見回り"),
    ),
    "河川・水路": (
        7,
        ("水路", "河川", "排水路", "用水路", "護岸", "水門", "暗渠"),
        ("が詰まっている", "があふれる", "が崩れている", "に土砂がたまっている"),
        ("浚渫", "改修", "点検", "清掃"),
    ),
    "防災・消防": (
        8,
        ("避難所", "消火栓", "防災無線", "ブロック塀", "崖", "避難経路", "消防倉庫", "鉄塔"),
        ("が危険である", "が聞こえにくい", "が老朽化している", "が分かりにくい", "が倒れそうである"),
        ("点検", "改善", "周知", "撤去"),
    ),
    "福祉・健康": (
        8,
        ("高齢者", "見守り", "買い物", "通院", "障がい者", "介護", "健康相談"),
        ("に困っている", "の支援が足りない", "の担い手がいない", "が不安である"),
        ("支援", "相談窓口の周知", "見守り体制づくり", "送迎"),
    ),
    "子育て・教育": (
        5,
        ("子ども", "児童館", "学童", "放課後", "通学", "子育て"),
        ("の居場所がない", "が不足している", "が危険である", "の相談先が分からない"),
        ("拡充", "周知", "見守り", "整備"),
    ),
    "地域活動・コミュニティ": (
        4,
        ("自治会", "地域行事", "集会所", "担い手", "回覧板", "夏祭り"),
        ("の加入者が減っている", "の運営に困っている", "の会場が足りない", "の負担が大きい"),
        ("支援", "情報提供", "助言", "補助"),
    ),
    "産業・農業": (
        3,
        ("農道", "鳥獣被害", "イノシシ", "ため池", "耕作放棄地", "農業用水", "商店街"),
        ("が荒れている", "が増えている", "の管理に困っている", "が不足している"),
        ("対策", "補修", "支援", "調査"),
    ),
    "その他": (
        1,
        ("案内表示", "駐輪場", "公衆電話", "鉄塔", "電柱"),
        ("が分かりにくい", "が不足している", "が古くなっている"),
        ("検討", "確認", "改善"),
    ),
}
_OPENINGS = (
    "以前から",
    "最近になって",
    "先日の大雨の後から",
    "夜間になると",
    "朝の通学時間帯に",
    "週末になると",
)
_WORRIES = (
    "高齢者や子どもが通るため危険である。",
    "近隣の住民から不安の声が出ている。",
    "地域の会議でも話題になった。",
    "事故が起きる前に対応してほしい。",
    "自治会だけでは対応が難しい。",
)
_ORGANISATIONS = (
    "校区自治協議会",
    "町内自治会",
    "老人クラブ",
    "PTA",
    "防犯協会",
    "民生委員児童委員協議会",
    "子ども会",
)
ANSWERS = {
    "resolved": (
        "現地を確認し、{ask}を行いました。",
        "担当課が{ask}を実施しました。引き続き状況を見守ります。",
    ),
    "information": (
        "{ask}について担当課の窓口と制度をご案内しました。",
        "関係機関の連絡先をお伝えしました。",
    ),
    "difficult": (
        "現地を確認しましたが、予算の都合上{ask}は困難です。",
        "所管外のため、対応は難しい旨を説明しました。",
    ),
}
REFERRALS = (
    "土木センター",
    "生活安全課",
    "公園課",
    "廃棄物計画課",
    "河川課",
    "危機管理防災課",
    "福祉課",
    "農業振興課",
)
OUTCOMES = (
    "事業を実施し、地域へ報告した。",
    "工事が完了し、地域の会議で報告した。",
    "整備を終え、利用が始まった。",
)
ISSUE_NOUNS = ("対策", "整備", "改善", "安全確保", "環境づくり")


def _zipf(count: int, exponent: float = 1.1) -> list[float]:
    """Cumulative weights falling with rank: the first thing is the most frequent."""
    return list(itertools.accumulate(1 / (rank**exponent) for rank in range(1, count + 1)))


@dataclass(frozen=True)
class Vocabulary:
    """The category vocabulary with precomputed cumulative weights (fast weighted draws)."""

    categories: tuple[str, ...]
    category_weights: list[float]
    thing_weights: dict[str, list[float]]

    @classmethod
    def build(cls, category_names: list[str]) -> Vocabulary:
        """The vocabulary for the categories the database has (unknown ones use その他's words)."""
        names = tuple(category_names)
        weights = list(
            itertools.accumulate(_CATEGORIES.get(name, _CATEGORIES["その他"])[0] for name in names)
        )
        things = {name: _zipf(len(_words(name)[0])) for name in names}
        return cls(names, weights, things)

    def category(self, rng: random.Random) -> str:
        return rng.choices(self.categories, cum_weights=self.category_weights)[0]

    def request_text(self, rng: random.Random, category: str, ward_code: str) -> dict[str, str]:
        """Title, description, place and (maybe) organisation of one request."""
        things, problems, asks = _words(category)
        thing = rng.choices(things, cum_weights=self.thing_weights[category])[0]
        problem, ask = rng.choice(problems), rng.choice(asks)
        town = rng.choice(TOWNS.get(ward_code, TOWNS["CHUO"]))
        place = f"{town}{rng.randint(1, 5)}丁目" if rng.random() < 0.6 else f"{town}{rng.choice(LANDMARKS)}"
        organisation = f"{town}{rng.choice(_ORGANISATIONS)}" if rng.random() < 0.45 else ""
        sender = organisation or "近隣の住民"
        description = (
            f"{sender}から、{place}の{thing}{problem}との相談があった。"
            f"{rng.choice(_OPENINGS)}状況が続いており、{rng.choice(_WORRIES)}{thing}の{ask}を求めている。"
        )
        return {
            "title": f"{place}の{thing}{problem}",
            "description": description,
            "location_text": place,
            "organisation": organisation,
            "thing": thing,
            "ask": ask,
            "town": town,
        }

    @staticmethod
    def answer_text(rng: random.Random, kind: str, ask: str) -> str:
        return rng.choice(ANSWERS[kind]).format(ask=ask)

    @staticmethod
    def issue_texts(rng: random.Random, town: str, thing: str, ask: str, bureau: str) -> dict[str, str]:
        title = f"{town}地区の{thing}の{rng.choice(ISSUE_NOUNS)}"
        return {
            "title": title,
            "proposal": f"{bureau}と協議し、{town}地区の{thing}の{ask}を計画的に進める。",
            "project_name": f"{town}地区{thing}{ask}事業",
        }


def _words(category: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    return _CATEGORIES.get(category, _CATEGORIES["その他"])[1:]


# The bureau each category's ward issues are consulted with (the first that exists is taken).
LEAD_BUREAUS = {
    "道路・交通安全": ("都市建設局",),
    "防犯・街灯": ("文化市民局", "都市建設局"),
    "公園・緑地": ("都市建設局",),
    "ごみ・環境衛生": ("環境局",),
    "河川・水路": ("上下水道局", "都市建設局"),
    "防災・消防": ("消防局", "政策局"),
    "福祉・健康": ("健康福祉子ども局",),
    "子育て・教育": ("教育委員会事務局", "健康福祉子ども局"),
    "地域活動・コミュニティ": ("文化市民局",),
    "産業・農業": ("農水局", "経済観光局"),
}
