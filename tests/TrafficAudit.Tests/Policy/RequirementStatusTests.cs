using TrafficAudit.Policy;

namespace TrafficAudit.Tests.Policy;

[TestClass]
public sealed class RequirementStatusTests
{
    [TestMethod]
    public void Label_IsTheOneVocabulary()
    {
        Assert.AreEqual("PASS", RequirementStatus.Pass.Label);
        Assert.AreEqual("FAIL (over budget)", RequirementStatus.Fail(RequirementFailure.OverBudget).Label);
        Assert.AreEqual("FAIL (blocked, refused, over budget, one-way)",
            RequirementStatus.Fail(RequirementFailure.OneWay | RequirementFailure.OverBudget | RequirementFailure.Refused | RequirementFailure.Blocked).Label);
        Assert.AreEqual("NOT SEEN (required)", RequirementStatus.NotSeenRequired.Label);
        Assert.AreEqual("NOT SEEN (optional)", RequirementStatus.NotSeenOptional.Label);
        Assert.AreEqual("NOT EXPECTED", RequirementStatus.NotExpected.Label);
    }

    [TestMethod]
    public void Tone_OptionalIsNeverRed_RequiredNotSeenIsRedLikeItsError()
    {
        Assert.AreEqual(RequirementTone.Good, RequirementStatus.Pass.Tone);
        Assert.AreEqual(RequirementTone.Bad, RequirementStatus.Fail(RequirementFailure.OverBudget).Tone);
        Assert.AreEqual(RequirementTone.Bad, RequirementStatus.NotSeenRequired.Tone);
        Assert.AreEqual(RequirementTone.Neutral, RequirementStatus.NotSeenOptional.Tone);
        Assert.AreEqual(RequirementTone.Neutral, RequirementStatus.NotExpected.Tone);
        Assert.IsTrue(RequirementStatus.NotSeenRequired.IsMissing);
        Assert.IsFalse(RequirementStatus.NotSeenOptional.IsMissing);
        Assert.IsFalse(RequirementStatus.NotExpected.IsMissing);
    }

    [TestMethod]
    public void FindingKey_KeepsDifferentRulesApart()
    {
        var a = new Finding { Kind = FindingKinds.MissingFlow, Rule = "sip-5064-presence", Transport = "udp", Message = "a" };
        var b = a with { Rule = "sip-5070-call-recording;sip-tls-5071-call-recording", Message = "b" };
        Assert.AreEqual(2, Verdict.Merge([a, b]).Count);
        Assert.AreEqual(2, Verdict.Merge([a, a with { Message = "again" }]).Single().Count);
    }
}
