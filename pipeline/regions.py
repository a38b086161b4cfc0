"""A compact gazetteer: China's provincial-level divisions and their prefecture-level cities.

Enough to resolve what bulletins say about places: 全省 in a 赣州市 bulletin → 江西省, 赣州 → 赣州市,
湖北十堰市 → 十堰市 (湖北省). County-level names are not listed; `classify` still tells their level
from the suffix (上犹县 → county) without guessing where they lie.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

COUNTRY = "中国"

# province: its prefecture-level cities ("full|short" where the short form is not the full name minus
# its suffix). Municipalities and SARs are their own city. Cities directly administered by a province
# (济源市, 仙桃市 …) are listed with it.
_TABLE = """
北京市: 北京市
天津市: 天津市
上海市: 上海市
重庆市: 重庆市
河北省: 石家庄市 唐山市 秦皇岛市 邯郸市 邢台市 保定市 张家口市 承德市 沧州市 廊坊市 衡水市
山西省: 太原市 大同市 阳泉市 长治市 晋城市 朔州市 晋中市 运城市 忻州市 临汾市 吕梁市
内蒙古自治区|内蒙古: 呼和浩特市 包头市 乌海市 赤峰市 通辽市 鄂尔多斯市 呼伦贝尔市 巴彦淖尔市 乌兰察布市 兴安盟 锡林郭勒盟 阿拉善盟
辽宁省: 沈阳市 大连市 鞍山市 抚顺市 本溪市 丹东市 锦州市 营口市 阜新市 辽阳市 盘锦市 铁岭市 朝阳市 葫芦岛市
吉林省: 长春市 吉林市 四平市 辽源市 通化市 白山市 松原市 白城市 延边朝鲜族自治州|延边
黑龙江省: 哈尔滨市 齐齐哈尔市 鸡西市 鹤岗市 双鸭山市 大庆市 伊春市 佳木斯市 七台河市 牡丹江市 黑河市 绥化市 大兴安岭地区
江苏省: 南京市 无锡市 徐州市 常州市 苏州市 南通市 连云港市 淮安市 盐城市 扬州市 镇江市 泰州市 宿迁市
浙江省: 杭州市 宁波市 温州市 嘉兴市 湖州市 绍兴市 金华市 衢州市 舟山市 台州市 丽水市
安徽省: 合肥市 芜湖市 蚌埠市 淮南市 马鞍山市 淮北市 铜陵市 安庆市 黄山市 滁州市 阜阳市 宿州市 六安市 亳州市 池州市 宣城市
福建省: 福州市 厦门市 莆田市 三明市 泉州市 漳州市 南平市 龙岩市 宁德市
江西省: 南昌市 景德镇市 萍乡市 九江市 新余市 鹰潭市 赣州市 吉安市 宜春市 抚州市 上饶市
山东省: 济南市 青岛市 淄博市 枣庄市 东营市 烟台市 潍坊市 济宁市 泰安市 威海市 日照市 临沂市 德州市 聊城市 滨州市 菏泽市
河南省: 郑州市 开封市 洛阳市 平顶山市 安阳市 鹤壁市 新乡市 焦作市 濮阳市 许昌市 漯河市 三门峡市 南阳市 商丘市 信阳市 周口市 驻马店市 济源市
湖北省: 武汉市 黄石市 十堰市 宜昌市 襄阳市 鄂州市 荆门市 孝感市 荆州市 黄冈市 咸宁市 随州市 恩施土家族苗族自治州|恩施 仙桃市 潜江市 天门市 神农架林区|神农架
湖南省: 长沙市 株洲市 湘潭市 衡阳市 邵阳市 岳阳市 常德市 张家界市 益阳市 郴州市 永州市 怀化市 娄底市 湘西土家族苗族自治州|湘西
广东省: 广州市 韶关市 深圳市 珠海市 汕头市 佛山市 江门市 湛江市 茂名市 肇庆市 惠州市 梅州市 汕尾市 河源市 阳江市 清远市 东莞市 中山市 潮州市 揭阳市 云浮市
广西壮族自治区|广西: 南宁市 柳州市 桂林市 梧州市 北海市 防城港市 钦州市 贵港市 玉林市 百色市 贺州市 河池市 来宾市 崇左市
海南省: 海口市 三亚市 三沙市 儋州市
四川省: 成都市 自贡市 攀枝花市 泸州市 德阳市 绵阳市 广元市 遂宁市 内江市 乐山市 南充市 眉山市 宜宾市 广安市 达州市 雅安市 巴中市 资阳市 阿坝藏族羌族自治州|阿坝 甘孜藏族自治州|甘孜 凉山彝族自治州|凉山
贵州省: 贵阳市 六盘水市 遵义市 安顺市 毕节市 铜仁市 黔西南布依族苗族自治州|黔西南 黔东南苗族侗族自治州|黔东南 黔南布依族苗族自治州|黔南
云南省: 昆明市 曲靖市 玉溪市 保山市 昭通市 丽江市 普洱市 临沧市 楚雄彝族自治州|楚雄 红河哈尼族彝族自治州|红河 文山壮族苗族自治州|文山 西双版纳傣族自治州|西双版纳 大理白族自治州|大理 德宏傣族景颇族自治州|德宏 怒江傈僳族自治州|怒江 迪庆藏族自治州|迪庆
西藏自治区|西藏: 拉萨市 日喀则市 昌都市 林芝市 山南市 那曲市 阿里地区
陕西省: 西安市 铜川市 宝鸡市 咸阳市 渭南市 延安市 汉中市 榆林市 安康市 商洛市
甘肃省: 兰州市 嘉峪关市 金昌市 白银市 天水市 武威市 张掖市 平凉市 酒泉市 庆阳市 定西市 陇南市 临夏回族自治州|临夏 甘南藏族自治州|甘南
青海省: 西宁市 海东市 海北藏族自治州|海北 黄南藏族自治州|黄南 海南藏族自治州 果洛藏族自治州|果洛 玉树藏族自治州|玉树 海西蒙古族藏族自治州|海西
宁夏回族自治区|宁夏: 银川市 石嘴山市 吴忠市 固原市 中卫市
新疆维吾尔自治区|新疆: 乌鲁木齐市 克拉玛依市 吐鲁番市 哈密市 昌吉回族自治州|昌吉 博尔塔拉蒙古自治州|博尔塔拉 巴音郭楞蒙古自治州|巴音郭楞 阿克苏地区 克孜勒苏柯尔克孜自治州|克孜勒苏 喀什地区 和田地区 伊犁哈萨克自治州|伊犁 塔城地区 阿勒泰地区
台湾省: 台北市 新北市 桃园市 台中市 台南市 高雄市 基隆市 新竹市 嘉义市
香港特别行政区|香港: 香港特别行政区|香港
澳门特别行政区|澳门: 澳门特别行政区|澳门
"""

_SUFFIXES = ("特别行政区", "自治区", "地区", "林区", "省", "市", "盟")
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市", "香港特别行政区", "澳门特别行政区")


@dataclass(frozen=True)
class Region:
    name: str
    level: str  # country | province | city | county | area
    province: str | None = None  # the province a city lies in (a province: itself)
    short: str | None = None

    @property
    def parent(self) -> str | None:
        if self.level == "province":
            return COUNTRY
        if self.level == "city":
            return self.province if self.province != self.name else COUNTRY
        return None


def _split(entry: str) -> tuple[str, str]:
    if "|" in entry:
        full, short = entry.split("|", 1)
        return full, short
    for s in _SUFFIXES:
        if entry.endswith(s) and len(entry) > len(s) + 1:
            return entry, entry[: -len(s)]
    return entry, entry


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, Region], dict[str, Region]]:
    """(full name → Region, short name → Region); provinces win a short name shared with a city (吉林, 海南)."""
    full: dict[str, Region] = {COUNTRY: Region(COUNTRY, "country", None, COUNTRY)}
    short: dict[str, Region] = {}
    cities: list[Region] = []
    for line in _TABLE.strip().splitlines():
        head, cities_s = line.split(":", 1)
        pname, pshort = _split(head.strip())
        prov = Region(pname, "province", pname, pshort)
        full[pname] = prov
        short[pshort] = prov
        for entry in cities_s.split():
            cname, cshort = _split(entry)
            if cname == pname:
                continue  # a municipality is its own city: one record, level province
            c = Region(cname, "city", pname, cshort)
            full[cname] = c
            cities.append(c)
    for c in cities:
        short.setdefault(c.short or c.name, c)
    return full, short


def provinces() -> list[Region]:
    return [r for r in _index()[0].values() if r.level == "province"]


def cities(province: str | None = None) -> list[Region]:
    p = lookup(province) if province else None
    out = [r for r in _index()[0].values() if r.level == "city" and (p is None or r.province == p.name)]
    if p is not None and p.name in MUNICIPALITIES:
        out.insert(0, p)
    return out


def lookup(name: str | None) -> Region | None:
    """The region a whole name denotes: 赣州市, 赣州, 江西, 江西省, 湖北十堰市, 中国/全国."""
    if not name:
        return None
    name = re.sub(r"\s+", "", name)
    full, short = _index()
    if name in full:
        return full[name]
    if name in short:
        return short[name]
    if name in ("全国", "我国", "国家"):
        return full[COUNTRY]
    # a province prefix before a city: 湖北十堰市, 湖北省十堰市, 江西赣州
    for p in provinces():
        for pre in (p.name, p.short):
            if pre and name.startswith(pre) and len(name) > len(pre):
                rest = lookup_city(name[len(pre):])
                if rest is not None and rest.province == p.name:
                    return rest
    return None


def lookup_city(name: str) -> Region | None:
    full, short = _index()
    r = full.get(name) or short.get(name)
    return r if r is not None and r.level == "city" else None


def prefix(text: str) -> Region | None:
    """The region a name starts with, by full name (赣州市委 → 赣州市, 江西省凯鑫… → 江西省, 湖北十堰市… → 十堰市)."""
    full, _ = _index()
    best: Region | None = None
    for n in range(min(len(text), 12), 1, -1):
        r = full.get(text[:n])
        if r is not None:
            best = r
            break
    if best is not None and best.level == "province":
        rest = prefix(text[len(best.name):]) if len(text) > len(best.name) else None
        if rest is not None and rest.province == best.name:
            return rest
    if best is None:  # short province + full city: 湖北十堰市
        for p in provinces():
            if p.short and text.startswith(p.short):
                rest = prefix(text[len(p.short):])
                if rest is not None and rest.province == p.name:
                    return rest
    return best


def province_of(name: str | None) -> str | None:
    r = lookup(name)
    return r.province if r is not None else None


def city_of(name: str | None) -> str | None:
    """The city a region name is or lies in (a municipality counts as a city); None for provinces."""
    r = lookup(name)
    if r is None:
        return None
    if r.level == "city" or r.name in MUNICIPALITIES:
        return r.name
    return None


_COUNTY = re.compile(r"(县|区|旗|自治县|县级市)$")


def classify(name: str) -> Region:
    """A Region for any place name: known ones from the table, else a level guessed from the suffix."""
    r = lookup(name)
    if r is not None:
        return r
    name = re.sub(r"\s+", "", name)
    if _COUNTY.search(name):
        return Region(name, "county")
    if name.endswith("省") or name.endswith("自治区"):
        return Region(name, "province", name)
    if name.endswith("市") or name.endswith("州") or name.endswith("盟"):
        return Region(name, "city")
    return Region(name, "area")
