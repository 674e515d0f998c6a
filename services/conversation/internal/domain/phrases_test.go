package domain_test

import (
	"strings"
	"testing"

	"github.com/kefu-suite/kefu/services/conversation/internal/domain"
)

func phrases(t *testing.T) *domain.PhraseList {
	t.Helper()
	pl, err := domain.DefaultPhrases()
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// Every phrase DOMAIN.md §2 names is in the list with its category.
func TestPhraseListHasEveryDomainPhrase(t *testing.T) {
	pl := phrases(t)
	want := map[domain.Category][]string{
		domain.CatShirking:        {"这个不归我管", "你去找别人", "我不知道"},
		domain.CatCold:            {"就那样", "自己看", "没办法"},
		domain.CatBlaming:         {"是你自己弄错的", "这怎么能怪我们"},
		domain.CatSarcastic:       {"您可真是专业", "这您都不懂"},
		domain.CatHurrying:        {"到底买不买", "能不能快点"},
		domain.CatFlatRefusal:     {"不可能", "不行", "没有"},
		domain.CatVague:           {"可能吧", "大概", "也许"},
		domain.CatAbsolutePromise: {"绝对保证", "100%没问题"},
	}
	for cat, ps := range want {
		have := strings.Join(pl.Phrases(cat), "|")
		for _, p := range ps {
			if !strings.Contains("|"+have+"|", "|"+p+"|") {
				t.Errorf("%s: %q missing (have %s)", cat, p, have)
			}
		}
	}
	for _, cat := range []domain.Category{domain.CatVulgar, domain.CatJargon} {
		if len(pl.Phrases(cat)) == 0 {
			t.Errorf("%s: no phrases", cat)
		}
	}
	if pl.Version() == "" {
		t.Error("no version")
	}
}

func TestCheckRealReplies(t *testing.T) {
	pl := phrases(t)
	type f struct {
		phrase string
		cat    domain.Category
	}
	cases := []struct {
		text    string
		verdict domain.Verdict
		want    []f
	}{
		// standard service language passes
		{"亲，欢迎光临本店，有什么可以帮您？", domain.VerdictOK, nil},
		{"您好，这款羽绒服是90%白鸭绒，175/92A 建议拍L码哦", domain.VerdictOK, nil},
		{"感谢您的耐心等待，已经帮您备注优先发货", domain.VerdictOK, nil},
		{"非常抱歉给您带来不便，我马上帮您处理", domain.VerdictOK, nil},
		{"这款没有现货了，给您推荐同款的黑色，今天就能发", domain.VerdictOK, nil},
		{"没有没有，不客气，祝您生活愉快", domain.VerdictOK, nil},
		{"您还有没有其他问题需要帮忙的呢？", domain.VerdictOK, nil},
		{"没有问题的亲，可以放心购买", domain.VerdictOK, nil},
		{"我们帮您想办法，一定给您满意的答复", domain.VerdictOK, nil},
		{"这件T恤是100%纯棉的，透气舒服", domain.VerdictOK, nil},
		{"我自己看了一下物流，包裹已经到您所在的城市了", domain.VerdictOK, nil},
		{"送给宝宝妈妈的礼物可以选这款套装", domain.VerdictOK, nil},
		{"这个USB接口兼容您的电脑", domain.VerdictOK, nil},
		{"如有不清楚的地方随时联系我", domain.VerdictOK, nil},
		{"滚筒洗衣机我们有三款，容量分别是8公斤、10公斤和12公斤", domain.VerdictOK, nil},
		{"亲，这款防晒霜是SPF50+ PA+++，UV防护效果很好", domain.VerdictOK, nil},
		// forbidden: one per category of DOMAIN §2
		{"这个不归我管，你去找别人", domain.VerdictForbidden, []f{{"这个不归我管", domain.CatShirking}, {"你去找别人", domain.CatShirking}}},
		{"我不知道", domain.VerdictForbidden, []f{{"我不知道", domain.CatShirking}}},
		{"尺码表就那样，自己看", domain.VerdictForbidden, []f{{"就那样", domain.CatCold}, {"自己看", domain.CatCold}}},
		{"没办法，规定就是这样", domain.VerdictForbidden, []f{{"没办法", domain.CatCold}, {"规定就是这样", domain.CatCold}}},
		{"是你自己弄错的，我们发的没错", domain.VerdictForbidden, []f{{"是你自己弄错的", domain.CatBlaming}}},
		{"快递慢这怎么能怪我们？", domain.VerdictForbidden, []f{{"这怎么能怪我们", domain.CatBlaming}}},
		{"您可真是专业啊", domain.VerdictForbidden, []f{{"您可真是专业", domain.CatSarcastic}}},
		{"这您都不懂吗", domain.VerdictForbidden, []f{{"这您都不懂", domain.CatSarcastic}}},
		{"到底买不买？", domain.VerdictForbidden, []f{{"到底买不买", domain.CatHurrying}}},
		{"能不能快点，后面还有人排队", domain.VerdictForbidden, []f{{"能不能快点", domain.CatHurrying}}},
		{"不可能，我们从来不发错货", domain.VerdictForbidden, []f{{"不可能", domain.CatFlatRefusal}}},
		{"不行。", domain.VerdictForbidden, []f{{"不行", domain.CatFlatRefusal}}},
		{"亲，这个不行的", domain.VerdictForbidden, []f{{"不行", domain.CatFlatRefusal}}},
		{"没有", domain.VerdictForbidden, []f{{"没有", domain.CatFlatRefusal}}},
		{"没有了！", domain.VerdictForbidden, []f{{"没有", domain.CatFlatRefusal}}},
		{"优惠？没有哦", domain.VerdictForbidden, []f{{"没有", domain.CatFlatRefusal}}},
		{"你有病吧", domain.VerdictForbidden, []f{{"你有病", domain.CatVulgar}}},
		{"妈的，又是你", domain.VerdictForbidden, []f{{"妈的", domain.CatVulgar}}},
		{"你 SB 吧", domain.VerdictForbidden, []f{{"SB", domain.CatVulgar}}},
		// full-width characters are caught too
		{"１００％没问题", domain.VerdictDiscouraged, []f{{"１００％没问题", domain.CatAbsolutePromise}}},
		// discouraged only
		{"可能吧，大概三天到", domain.VerdictDiscouraged, []f{{"可能吧", domain.CatVague}, {"大概", domain.CatVague}}},
		{"也许明天能发", domain.VerdictDiscouraged, []f{{"也许", domain.CatVague}}},
		{"绝对保证正品，100%没问题", domain.VerdictDiscouraged, []f{{"绝对保证", domain.CatAbsolutePromise}, {"100%没问题", domain.CatAbsolutePromise}}},
		{"这个SKU在ERP里还有库存", domain.VerdictDiscouraged, []f{{"SKU", domain.CatJargon}, {"ERP", domain.CatJargon}}},
		// mixed: forbidden wins, findings in text order
		{"大概吧，我不知道", domain.VerdictForbidden, []f{{"大概", domain.CatVague}, {"我不知道", domain.CatShirking}}},
	}
	for _, c := range cases {
		got := pl.Check(c.text)
		if got.Verdict != c.verdict {
			t.Errorf("%q: verdict %v, want %v (findings %+v)", c.text, got.Verdict, c.verdict, got.Findings)
			continue
		}
		if len(got.Findings) != len(c.want) {
			t.Errorf("%q: findings %+v, want %+v", c.text, got.Findings, c.want)
			continue
		}
		for i, w := range c.want {
			g := got.Findings[i]
			if g.Phrase != w.phrase || g.Category != w.cat {
				t.Errorf("%q finding %d: %q/%s, want %q/%s", c.text, i, g.Phrase, g.Category, w.phrase, w.cat)
			}
			if string([]rune(c.text)[g.Start:g.End]) != g.Phrase {
				t.Errorf("%q finding %d: offsets [%d,%d) do not point at %q", c.text, i, g.Start, g.End, g.Phrase)
			}
			if g.Suggestion == "" || g.RuleID == "" {
				t.Errorf("%q finding %d: no suggestion or rule id", c.text, i)
			}
		}
	}
}

func TestParsePhrasesRejectsBadLists(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":         `{`,
		"no version":       `{"rules": []}`,
		"unknown category": `{"version":"x","rules":[{"id":"a","category":"rude","severity":"forbidden","phrases":["x"],"suggestion":"s"}]}`,
		"unknown severity": `{"version":"x","rules":[{"id":"a","category":"cold","severity":"bad","phrases":["x"],"suggestion":"s"}]}`,
		"duplicate":        `{"version":"x","rules":[{"id":"a","category":"cold","severity":"forbidden","phrases":["x"],"suggestion":"s"},{"id":"b","category":"vague","severity":"discouraged","phrases":["X"],"suggestion":"s"}]}`,
		"no suggestion":    `{"version":"x","rules":[{"id":"a","category":"cold","severity":"forbidden","phrases":["x"]}]}`,
	} {
		if _, err := domain.ParsePhrases([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Realistic agent replies a demanding supervisor would catch, and ones an
// agent must be able to send: a bare refusal or "don't know" is forbidden,
// the same word opening a real answer is not; shirking, blaming, sarcasm and
// swearing in their everyday variants are caught; product words that merely
// contain a bad word (去死皮, 水滚开, 废物利用, 宝妈的) pass. Invisible
// format characters do not hide a phrase.
func TestCheckMoreAgentReplies(t *testing.T) {
	pl := phrases(t)
	forbidden := []string{
		"亲，这个不归我管的哦",
		"亲，这个我真不知道",
		"不知道呢亲",
		"不知道。",
		"我哪知道",
		"谁知道呢",
		"这个不清楚哦",
		"不可以",
		"亲，这个不可以的哦",
		"不行啊亲",
		"没有的亲",
		"亲亲，没有了哦",
		"优惠？没有哦",
		"没有，自己看尺码表",
		"不行，规定就是这样",
		"快点下单哦",
		"您快点拍吧",
		"这是快递的问题，跟我们无关",
		"不关我们的事",
		"这个不归我们管",
		"这个不是我们负责的",
		"是您自己拍错了",
		"那是你的问题",
		"这是您的问题呢",
		"这您都不知道啊",
		"你懂不懂啊",
		"你去找快递吧",
		"你问别人去",
		"别烦我",
		"不买就算了",
		"随便你",
		"随便吧",
		"规定就是规定",
		"你是不是傻",
		"滚！",
		"草泥马",
		"不\u200b归我管",
		"可能\u200d吧，我不\ufeff知道",
		// seed 003 9.2 lists 我不知道 among the absolutely forbidden phrases
		// and issue 14 E names this variant: it was wrongly allowed before
		// (ask for the link without it: "麻烦您发一下链接")
		"我不知道您说的是哪一款，能发个链接吗",
	}
	for _, text := range forbidden {
		if c := pl.Check(text); c.Verdict != domain.VerdictForbidden {
			t.Errorf("%q: verdict %v, want FORBIDDEN (findings %+v)", text, c.Verdict, c.Findings)
		} else {
			for _, f := range c.Findings {
				if string([]rune(text)[f.Start:f.End]) != f.Phrase {
					t.Errorf("%q: offsets [%d,%d) do not point at %q", text, f.Start, f.End, f.Phrase)
				}
			}
		}
	}
	ok := []string{
		"没有问题，马上为您处理",
		"没有哦亲，都是实物拍摄的，没有色差",
		"没有的，这款是纯棉面料，不会起球",
		"不能哦，定制商品拆封后不支持退换，给您推荐可以退换的同款",
		"亲，不行的话我帮您换一个",
		"不清楚的话可以随时问我",
		"有啥不清楚的吗",
		"我帮您催一下仓库能不能快点发出",
		"我这边帮您快点处理",
		"这款磨砂膏可以温和去死皮",
		"水滚开后放入饺子，煮三分钟即可",
		"这个收纳盒还能废物利用哦",
		"宝妈的首选，安全无添加",
		"随便您挑，都是现货",
		"我帮您找别的客服问一下",
		"我去问快递，稍后回复您",
		"这个都不会影响使用的",
		"这都不会用到您的个人信息",
		"这是您的问题单号，请保存好",
		"尼玛您好，您的包裹已经发出了",
		"操作很简单，按住电源键三秒就开机了",
	}
	for _, text := range ok {
		if c := pl.Check(text); c.Verdict != domain.VerdictOK {
			t.Errorf("%q: verdict %v, want OK (findings %+v)", text, c.Verdict, c.Findings)
		}
	}
	// a refusal followed by more forbidden words is still a flat refusal
	c := pl.Check("没有，自己看尺码表")
	if len(c.Findings) != 2 || c.Findings[0].Category != domain.CatFlatRefusal || c.Findings[1].Category != domain.CatCold {
		t.Errorf("没有，自己看尺码表: %+v", c.Findings)
	}
	// the phrase is reported as it appears, invisible character included
	c = pl.Check("不\u200b归我管")
	if len(c.Findings) != 1 || c.Findings[0].Phrase != "不\u200b归我管" || c.Findings[0].Start != 0 || c.Findings[0].End != 5 {
		t.Errorf("zero-width: %+v", c.Findings)
	}
}
