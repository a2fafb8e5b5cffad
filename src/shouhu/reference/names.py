"""Chinese name parts for synthetic people, built as index tables so numpy can compose names.

Surnames carry their approximate share of the population (2020 household-register statistics,
rounded), so 王/李/张 dominate as they do in real books. Given names take one or two characters
from gender-typed lists. :func:`homophone` gives same-sound characters (伟/玮) for the typos that
staff make when keying a name heard over the phone; :func:`traditional` gives the traditional form
(張偉) that Hong Kong-facing brokers and some legacy systems store.
"""

from __future__ import annotations

from functools import cache

SURNAMES: tuple[tuple[str, float], ...] = tuple(
    (s, float(w))
    for s, w in (
        ("王", 7.12),
        ("李", 7.00),
        ("张", 6.74),
        ("刘", 5.10),
        ("陈", 4.61),
        ("杨", 3.22),
        ("黄", 2.45),
        ("赵", 2.19),
        ("吴", 2.00),
        ("周", 1.95),
        ("徐", 1.45),
        ("孙", 1.38),
        ("马", 1.29),
        ("朱", 1.28),
        ("胡", 1.16),
        ("郭", 1.13),
        ("何", 1.03),
        ("林", 0.97),
        ("高", 0.96),
        ("罗", 0.94),
        ("郑", 0.88),
        ("梁", 0.86),
        ("谢", 0.74),
        ("宋", 0.66),
        ("唐", 0.65),
        ("许", 0.62),
        ("韩", 0.61),
        ("冯", 0.61),
        ("邓", 0.60),
        ("曹", 0.59),
        ("彭", 0.57),
        ("曾", 0.55),
        ("肖", 0.54),
        ("田", 0.53),
        ("董", 0.51),
        ("袁", 0.50),
        ("潘", 0.48),
        ("于", 0.48),
        ("蒋", 0.47),
        ("蔡", 0.47),
        ("余", 0.46),
        ("杜", 0.45),
        ("叶", 0.44),
        ("程", 0.43),
        ("苏", 0.41),
        ("魏", 0.41),
        ("吕", 0.40),
        ("丁", 0.39),
        ("任", 0.38),
        ("沈", 0.37),
        ("姚", 0.36),
        ("卢", 0.35),
        ("姜", 0.34),
        ("崔", 0.33),
        ("钟", 0.32),
        ("谭", 0.31),
        ("陆", 0.30),
        ("汪", 0.29),
        ("范", 0.29),
        ("金", 0.28),
        ("石", 0.27),
        ("廖", 0.27),
        ("贾", 0.26),
        ("夏", 0.26),
        ("韦", 0.25),
        ("付", 0.25),
        ("方", 0.24),
        ("白", 0.24),
        ("邹", 0.23),
        ("孟", 0.23),
        ("熊", 0.22),
        ("秦", 0.22),
        ("邱", 0.22),
        ("江", 0.21),
        ("尹", 0.21),
        ("薛", 0.20),
        ("闫", 0.20),
        ("段", 0.19),
        ("雷", 0.19),
        ("侯", 0.18),
        ("龙", 0.18),
        ("史", 0.17),
        ("陶", 0.17),
        ("黎", 0.16),
        ("贺", 0.16),
        ("顾", 0.15),
        ("毛", 0.15),
        ("郝", 0.15),
        ("龚", 0.14),
        ("邵", 0.14),
        ("万", 0.14),
        ("钱", 0.13),
        ("严", 0.13),
        ("覃", 0.12),
        ("武", 0.12),
        ("戴", 0.12),
        ("莫", 0.11),
        ("孔", 0.11),
        ("欧阳", 0.05),
        ("司马", 0.02),
        ("上官", 0.01),
        ("诸葛", 0.01),
    )
)

MALE_CHARS = tuple(
    dict.fromkeys(
        "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳峰建国文志海东晨博子睿轩然泽昊嘉豪铭航宏亮成新庆兵振"
        "毅坤晖锋翔瑞祥荣松栋良德立永"
    )
)
FEMALE_CHARS = tuple(
    dict.fromkeys(
        "芳娜敏静丽艳娟霞秀玲桂英梅琳燕红婷雪慧颖倩洁佳琪欣怡悦萱涵彤晶璐丹蕾薇月妍雨思梦诗可馨楠莉琴云凤兰萍珍玉"
        "婉蓉瑶晴洋"
    )
)

# Same-pinyin characters (tone may differ) a clerk might key instead of the right one.
HOMOPHONES: dict[str, str] = {
    "伟": "玮",
    "强": "蔷",
    "磊": "垒",
    "军": "君",
    "勇": "永",
    "杰": "洁",
    "涛": "韬",
    "斌": "彬",
    "明": "铭",
    "华": "桦",
    "飞": "菲",
    "宇": "雨",
    "浩": "皓",
    "俊": "骏",
    "帆": "凡",
    "旭": "煦",
    "宁": "凝",
    "龙": "隆",
    "林": "琳",
    "阳": "扬",
    "峰": "锋",
    "建": "健",
    "志": "智",
    "海": "凯",
    "东": "冬",
    "晨": "辰",
    "博": "波",
    "睿": "瑞",
    "轩": "萱",
    "泽": "则",
    "昊": "浩",
    "嘉": "佳",
    "豪": "浩",
    "宏": "红",
    "亮": "靓",
    "成": "诚",
    "新": "欣",
    "庆": "青",
    "振": "震",
    "毅": "义",
    "坤": "昆",
    "晖": "辉",
    "翔": "祥",
    "荣": "蓉",
    "松": "嵩",
    "栋": "东",
    "良": "亮",
    "德": "得",
    "立": "丽",
    "芳": "方",
    "娜": "纳",
    "敏": "民",
    "静": "婧",
    "丽": "莉",
    "艳": "燕",
    "娟": "涓",
    "霞": "侠",
    "秀": "绣",
    "玲": "铃",
    "英": "瑛",
    "梅": "玫",
    "琳": "林",
    "红": "虹",
    "婷": "亭",
    "雪": "学",
    "慧": "惠",
    "颖": "莹",
    "倩": "茜",
    "洁": "杰",
    "佳": "嘉",
    "琪": "祺",
    "欣": "昕",
    "怡": "仪",
    "悦": "越",
    "萱": "宣",
    "涵": "晗",
    "彤": "桐",
    "晶": "菁",
    "璐": "露",
    "丹": "单",
    "蕾": "磊",
    "薇": "微",
    "妍": "言",
    "雨": "宇",
    "思": "丝",
    "梦": "孟",
    "诗": "师",
    "馨": "欣",
    "楠": "南",
    "莉": "丽",
    "琴": "勤",
    "云": "芸",
    "凤": "峰",
    "兰": "岚",
    "萍": "平",
    "珍": "真",
    "玉": "钰",
    "婉": "宛",
    "蓉": "荣",
    "瑶": "遥",
    "晴": "清",
    "洋": "阳",
}

ROADS = tuple(
    [
        "人民路",
        "解放路",
        "中山路",
        "建设路",
        "和平路",
        "新华路",
        "胜利路",
        "文化路",
        "青年路",
        "朝阳路",
        "光明路",
        "长江路",
        "黄河路",
        "南京路",
        "北京路",
        "幸福路",
        "团结路",
        "友谊路",
        "延安路",
        "复兴路",
        "科技路",
        "学府路",
        "滨江路",
        "湖滨路",
        "东风路",
        "迎宾路",
        "工业路",
        "花园路",
        "金桥路",
        "世纪大道",
    ]
)
ESTATES = tuple(
    [
        "阳光花园",
        "翠苑小区",
        "锦绣华庭",
        "金色家园",
        "万科城",
        "碧桂园",
        "绿城花园",
        "滨江一号",
        "世纪新城",
        "幸福里",
        "和谐家园",
        "御景湾",
    ]
)


@cache
def traditional_map() -> dict[str, str]:
    """Simplified -> traditional for every character used in names (opencc ``s2t``)."""
    from opencc import OpenCC

    converter = OpenCC("s2t")
    chars = {c for s, _ in SURNAMES for c in s} | set(MALE_CHARS) | set(FEMALE_CHARS) | set(HOMOPHONES.values())
    return {c: converter.convert(c) for c in sorted(chars)}


def traditional(text: str) -> str:
    """Traditional form of a name built from these lists (other characters pass through)."""
    table = traditional_map()
    return "".join(table.get(c, c) for c in text)


def homophone(char: str) -> str:
    """A same-sound character for a typo, or the character itself when none is listed."""
    return HOMOPHONES.get(char, char)
