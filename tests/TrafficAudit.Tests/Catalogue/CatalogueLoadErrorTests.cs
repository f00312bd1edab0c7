using TrafficAudit.Catalogue;

namespace TrafficAudit.Tests.Catalogue;

[TestClass]
public sealed class CatalogueLoadErrorTests
{
    // A valid one-entry catalogue; each test breaks one thing and checks where the error is reported.
    private static readonly string[] Valid =
    [
        /* 1 */ "{",
        /* 2 */ "  \"version\": 1, \"applications\": [ { \"id\": \"digital-fax\", \"name\": \"Digital Fax\" } ],",
        /* 3 */ "  \"entries\": [",
        /* 4 */ "    { \"id\": \"x-rule\", \"section\": \"calling-platform\", \"protocol\": \"SIP\", \"service\": \"sip\", \"direction\": \"IN/OUT\",",
        /* 5 */ "      \"applications\": [\"digital-fax\"], \"description\": \"d\",",
        /* 6 */ "      \"bindings\": [ { \"transport\": \"udp\", \"imagiclePorts\": \"5060\", \"remotePorts\": \"5060\" } ] }",
        /* 7 */ "  ]",
        /* 8 */ "}",
    ];

    private string _dir = "";

    [TestInitialize]
    public void CreateDir() => _dir = Directory.CreateTempSubdirectory("catalogue-tests-").FullName;

    [TestCleanup]
    public void DeleteDir() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes the catalogue with line <paramref name="line"/> (1-based) replaced, and loads it.</summary>
    private CatalogueException LoadWith(int line, string replacement)
    {
        var lines = (string[])Valid.Clone();
        lines[line - 1] = replacement;
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, string.Join("\n", lines));
        var ex = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(path));
        Assert.AreEqual(path, ex.File);
        StringAssert.StartsWith(ex.Message, $"{path}:{ex.Line}:{ex.Column}: ");
        return ex;
    }

    /// <summary>1-based column of <paramref name="token"/> in <paramref name="line"/>.</summary>
    private static int Col(string line, string token)
    {
        int i = line.IndexOf(token, StringComparison.Ordinal);
        Assert.IsTrue(i >= 0, $"'{token}' not in test line");
        return i + 1;
    }

    [TestMethod]
    public void LoadFile_ValidCatalogue_Loads()
    {
        var path = Path.Combine(_dir, "good.json");
        File.WriteAllText(path, string.Join("\n", Valid));
        var c = PortCatalogue.LoadFile(path);
        Assert.AreEqual("x-rule", c.Entries.Single().Id);
    }

    [TestMethod]
    public void LoadFile_NodeEvidence_IsReadAndItsMistakesNameLineAndColumn()
    {
        string good = "  ], \"nodeEvidence\": { \"nodeScore\": 2, \"strongScore\": 3, \"rules\": [ { \"id\": \"cti\", \"kind\": \"serves\", \"name\": \"CTI\", \"transport\": \"tcp\", \"ports\": \"51234\", \"score\": 3, \"description\": \"d\" } ] }";
        var path = Path.Combine(_dir, "evidence.json");
        var lines = (string[])Valid.Clone();
        lines[6] = good;
        File.WriteAllText(path, string.Join("\n", lines));
        var c = PortCatalogue.LoadFile(path);
        Assert.AreEqual(2, c.NodeEvidence.NodeScore);
        Assert.AreEqual(NodeEvidenceKind.Serves, c.NodeEvidence.Rules.Single().Kind);

        var ex = LoadWith(7, good.Replace("\"serves\"", "\"listens\""));
        Assert.AreEqual(7, ex.Line);
        StringAssert.Contains(ex.Message, "unknown node evidence kind 'listens'");
        ex = LoadWith(7, good.Replace("\"score\": 3", "\"weight\": 3"));
        StringAssert.Contains(ex.Message, "unknown field 'weight' in a node evidence rule");
    }

    [TestMethod]
    public void BuiltInCatalogue_NodeEvidence_NeedsTwoPiecesAndNeverOneSipPort()
    {
        var e = PortCatalogue.LoadEmbedded().NodeEvidence;
        Assert.AreEqual(2, e.NodeScore);
        foreach (var r in e.Rules.Where(r => r.Kind == NodeEvidenceKind.ServesOrSends))
            Assert.IsLessThan(e.NodeScore, r.Score, $"{r.Id}: one SIP port alone must not make a node");
        Assert.IsGreaterThanOrEqualTo(e.StrongScore, e.Rules.Single(r => r.Id == "cti-server").Score, "the CTI ports alone are strong evidence");
    }

    [TestMethod]
    public void LoadFile_PortAbove65535_ReportsLineAndColumnOfTheValue()
    {
        string line = "      \"bindings\": [ { \"transport\": \"udp\", \"imagiclePorts\": \"70000\", \"remotePorts\": \"5060\" } ] }";
        var ex = LoadWith(6, line);
        Assert.AreEqual(6, ex.Line);
        Assert.AreEqual(60, ex.Column); // the opening quote of "70000"
        Assert.AreEqual(Col(line, "\"70000\""), ex.Column);
        StringAssert.Contains(ex.Problem, "70000");
    }

    [TestMethod]
    public void LoadFile_ReversedRange_IsRejected()
    {
        string line = "      \"bindings\": [ { \"transport\": \"udp\", \"imagiclePorts\": \"5060\", \"remotePorts\": \"5000-4000\" } ] }";
        var ex = LoadWith(6, line);
        Assert.AreEqual((6, Col(line, "\"5000-4000\"")), (ex.Line, ex.Column));
        StringAssert.Contains(ex.Problem, "5000-4000");
    }

    [TestMethod]
    [DataRow("abc")]
    [DataRow("0")]
    [DataRow("5060,")]
    [DataRow("-5")]
    [DataRow("99999999")]
    public void LoadFile_BadPortText_IsRejected(string ports)
    {
        string line = $"      \"bindings\": [ {{ \"transport\": \"udp\", \"imagiclePorts\": \"{ports}\", \"remotePorts\": \"5060\" }} ] }}";
        var ex = LoadWith(6, line);
        Assert.AreEqual((6, Col(line, $"\"{ports}\"")), (ex.Line, ex.Column));
    }

    [TestMethod]
    public void LoadFile_UnknownApplication_PointsAtThatApplication()
    {
        string line = "      \"applications\": [\"digital-fax\", \"fax-machine\"], \"description\": \"d\",";
        var ex = LoadWith(5, line);
        Assert.AreEqual((5, Col(line, "\"fax-machine\"")), (ex.Line, ex.Column));
        StringAssert.Contains(ex.Problem, "fax-machine");
    }

    [TestMethod]
    public void LoadFile_UnknownDirection_IsRejected()
    {
        string line = Valid[3].Replace("\"IN/OUT\"", "\"SIDEWAYS\"", StringComparison.Ordinal);
        var ex = LoadWith(4, line);
        Assert.AreEqual((4, Col(line, "\"SIDEWAYS\"")), (ex.Line, ex.Column));
    }

    [TestMethod]
    public void LoadFile_UnknownTransport_IsRejected()
    {
        string line = Valid[5].Replace("\"udp\"", "\"sctp\"", StringComparison.Ordinal);
        var ex = LoadWith(6, line);
        Assert.AreEqual((6, Col(line, "\"sctp\"")), (ex.Line, ex.Column));
    }

    [TestMethod]
    public void LoadFile_UnknownField_PointsAtTheFieldName()
    {
        string line = "      \"applications\": [\"digital-fax\"], \"description\": \"d\", \"colour\": \"red\",";
        var ex = LoadWith(5, line);
        Assert.AreEqual((5, Col(line, "\"colour\"")), (ex.Line, ex.Column));
        StringAssert.Contains(ex.Problem, "colour");
    }

    [TestMethod]
    public void LoadFile_MissingRequiredField_PointsAtTheEntry()
    {
        string line = Valid[3].Replace(" \"service\": \"sip\",", "", StringComparison.Ordinal);
        var ex = LoadWith(4, line);
        Assert.AreEqual((4, 5), (ex.Line, ex.Column)); // the entry's '{'
        StringAssert.Contains(ex.Problem, "'service'");
    }

    [TestMethod]
    public void LoadFile_MissingComma_ReportsMalformedJsonAtTheNextToken()
    {
        string line = "      \"applications\": [\"digital-fax\"] \"description\": \"d\",";
        var ex = LoadWith(5, line);
        Assert.AreEqual(5, ex.Line);
        Assert.AreEqual(Col(line, "\"description\""), ex.Column);
        StringAssert.Contains(ex.Problem, "malformed JSON");
    }

    [TestMethod]
    public void LoadFile_TruncatedFile_ReportsMalformedJson()
    {
        var path = Path.Combine(_dir, "cut.json");
        File.WriteAllText(path, string.Join("\n", Valid[..5]));
        var ex = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(path));
        Assert.AreEqual(5, ex.Line);
    }

    [TestMethod]
    public void LoadFile_ColumnCountsCharactersNotBytes()
    {
        // "Café ☎" is 6 characters but 9 bytes in UTF-8; the bad field after it must still get the right column.
        string line = "      \"applications\": [\"digital-fax\"], \"description\": \"Café ☎\", \"maxRttMs\": \"slow\",";
        var ex = LoadWith(5, line);
        Assert.AreEqual((5, Col(line, "\"slow\"")), (ex.Line, ex.Column));
    }

    [TestMethod]
    public void LoadFile_DuplicateRuleId_IsRejected()
    {
        var lines = Valid.ToList();
        lines.Insert(6, "    ,{ \"id\": \"x-rule\", \"section\": \"cluster\", \"protocol\": \"RDP\", \"service\": \"rdp\", \"direction\": \"NODE\", \"applications\": [\"all\"], \"description\": \"d\", \"bindings\": [ { \"transport\": \"tcp\", \"imagiclePorts\": \"3389\", \"remotePorts\": \"any\" } ] }");
        var path = Path.Combine(_dir, "dup.json");
        File.WriteAllText(path, string.Join("\n", lines));
        var ex = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(path));
        Assert.AreEqual((7, Col(lines[6], "\"x-rule\"")), (ex.Line, ex.Column));
    }

    [TestMethod]
    public void LoadFile_WrongVersion_IsRejected()
    {
        var ex = LoadWith(2, "  \"version\": 2,");
        Assert.AreEqual((2, 14), (ex.Line, ex.Column));
    }

    [TestMethod]
    public void LoadFile_MissingFile_ThrowsCatalogueException()
    {
        var path = Path.Combine(_dir, "absent.json");
        var ex = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(path));
        StringAssert.Contains(ex.Message, path);
    }

    [TestMethod]
    public void LoadFile_EmptyFile_ThrowsCatalogueException()
    {
        var path = Path.Combine(_dir, "empty.json");
        File.WriteAllText(path, "");
        var ex = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(path));
        Assert.AreEqual((1, 1), (ex.Line, ex.Column));
    }

    [TestMethod]
    public void LoadFile_ByteOrderMark_DoesNotShiftColumns()
    {
        string line = Valid[3].Replace("\"IN/OUT\"", "\"UP\"", StringComparison.Ordinal);
        var lines = (string[])Valid.Clone();
        lines[3] = line;
        var path = Path.Combine(_dir, "bom.json");
        File.WriteAllText(path, string.Join("\n", lines), new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        var ex = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(path));
        Assert.AreEqual((4, Col(line, "\"UP\"")), (ex.Line, ex.Column));
    }
}
