using System.Text;
using System.Text.Json;
using TrafficAudit.Catalogue;
using TrafficAudit.Fuzz;
using TrafficAudit.Policy;
using TrafficAudit.Tests.EndToEnd;

namespace TrafficAudit.Tests.Configuration;

/// <summary>
/// Any bytes given as a profile or a catalogue end in one sentence of our own words naming the file,
/// the line and the column (or only the file when it cannot be read at all), never in an exception of
/// another type, a .NET message or a stack trace; files are size-capped before parsing.
/// </summary>
[TestClass]
public sealed class ConfigurationFileHostileInputTests
{
    private static byte[] SampleProfile => File.ReadAllBytes(Path.Combine(TestPaths.Captures, "imagicle-site.profile.json"));

    private static byte[] BuiltInCatalogue
    {
        get
        {
            using var w = new StringWriter();
            PortCatalogue.WriteEmbeddedJson(w);
            return Encoding.UTF8.GetBytes(w.ToString());
        }
    }

    /// <summary>Bytes worth inserting: JSON punctuation, broken UTF-8, escapes, comments, deep nesting.</summary>
    private static readonly byte[][] Tokens =
    [
        ","u8.ToArray(), "}"u8.ToArray(), "]"u8.ToArray(), "{"u8.ToArray(), "["u8.ToArray(), "\""u8.ToArray(), ":"u8.ToArray(),
        "\\"u8.ToArray(), "\\u"u8.ToArray(), "\\ud800"u8.ToArray(), "\\udc00\\ud800"u8.ToArray(), "\\x"u8.ToArray(),
        "/*"u8.ToArray(), "//"u8.ToArray(), "/"u8.ToArray(), "null"u8.ToArray(), "tru"u8.ToArray(), "-"u8.ToArray(), "1e999"u8.ToArray(),
        "0x10"u8.ToArray(), "\n"u8.ToArray(), [0], [0x1B], [0x07], [0xC3], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
        [0xC0, 0xAF], [0xFF, 0xFE], [0xEF, 0xBB, 0xBF], "\u202E"u8.ToArray(), "é"u8.ToArray(),
        Encoding.ASCII.GetBytes(new string('[', 100)), Encoding.ASCII.GetBytes(new string('{', 70)),
    ];

    /// <summary>Deterministic mutation <paramref name="i"/> of <paramref name="original"/>: flips, inserts, deletions, cuts, splices.</summary>
    internal static byte[] Mutate(byte[] original, int i)
    {
        var rnd = new Random(i);
        var b = new List<byte>(original);
        for (int k = rnd.Next(1, 4); k > 0 && b.Count > 0; k--)
        {
            int at = rnd.Next(b.Count);
            switch (rnd.Next(6))
            {
                case 0: b[at] = (byte)rnd.Next(256); break;
                case 1: b.InsertRange(at, Tokens[rnd.Next(Tokens.Length)]); break;
                case 2: b.RemoveRange(at, Math.Min(b.Count - at, rnd.Next(1, 40))); break;
                case 3: b.RemoveRange(at, b.Count - at); break;
                case 4:
                    int from = rnd.Next(b.Count);
                    b.InsertRange(at, b.GetRange(from, Math.Min(b.Count - from, rnd.Next(1, 60))));
                    break;
                default: b[at] ^= (byte)(1 << rnd.Next(8)); break;
            }
        }
        return [.. b];
    }

    private static void AssertOneSentenceWithPosition(ConfigurationFileException e, string file)
    {
        Assert.AreEqual(file, e.File);
        Assert.IsGreaterThanOrEqualTo(1, e.Line, e.Message);
        Assert.IsGreaterThanOrEqualTo(1, e.Column, e.Message);
        StringAssert.StartsWith(e.Message, $"{file}:{e.Line}:{e.Column}: ");
        FuzzTargets.CheckMessage(e);
    }

    [TestMethod]
    public void Profile_1000Mutations_OnlyProfileExceptionsWithLineAndColumn()
    {
        var sample = SampleProfile;
        int failed = 0;
        var kinds = new HashSet<string>();
        for (int i = 0; i < 1000; i++)
        {
            var bytes = Mutate(sample, i);
            try
            {
                ProfileLoader.Parse(bytes, "p.json");
            }
            catch (ProfileException e)
            {
                failed++;
                AssertOneSentenceWithPosition(e, "p.json");
                kinds.Add(e.Problem.Split(' ')[0]);
            }
            catch (Exception e)
            {
                Assert.Fail($"mutation {i}: {e.GetType().Name} escaped: {e.Message}");
            }
        }
        Assert.IsGreaterThan(600, failed, "most mutations break the profile");
        Assert.IsGreaterThan(5, kinds.Count, "the mutations reach several kinds of error: " + string.Join(", ", kinds));
    }

    [TestMethod]
    public void Catalogue_1000Mutations_OnlyCatalogueExceptionsWithLineAndColumn()
    {
        var builtIn = BuiltInCatalogue;
        int failed = 0;
        for (int i = 0; i < 1000; i++)
        {
            var bytes = Mutate(builtIn, 100_000 + i);
            try
            {
                PortCatalogue.Parse(bytes, "c.json");
            }
            catch (CatalogueException e)
            {
                failed++;
                AssertOneSentenceWithPosition(e, "c.json");
            }
            catch (Exception e)
            {
                Assert.Fail($"mutation {i}: {e.GetType().Name} escaped: {e.Message}");
            }
        }
        Assert.IsGreaterThan(500, failed, "most mutations break the catalogue");
    }

    private static ProfileException Fails(string json) => Fails(Encoding.UTF8.GetBytes(json));

    private static ProfileException Fails(byte[] json)
    {
        var e = Assert.ThrowsExactly<ProfileException>(() => ProfileLoader.Parse(json, "p.json"));
        AssertOneSentenceWithPosition(e, "p.json");
        return e;
    }

    [TestMethod]
    public void TrailingComma_IsNamedInOurWords()
    {
        var e = Fails("{\"nodes\": [\"10.0.0.10\",],\n \"applications\": []}");
        StringAssert.Contains(e.Problem, "trailing comma");
        Assert.AreEqual(1, e.Line);
        Assert.AreEqual(24, e.Column, "at the closing bracket after the comma");
        var o = Fails("{\"nodes\": [\"10.0.0.10\"],\n}");
        StringAssert.Contains(o.Problem, "trailing comma");
        Assert.AreEqual(2, o.Line);
    }

    [TestMethod]
    [DataRow("{\"nodes\": [\"10.0.0.10\"", "ends before the JSON is complete")]
    [DataRow("{\"nodes\": [\"10.0.0.10", "string is never closed")]
    [DataRow("{\"allow\": [{\"port\": 1, \"note\": \"a\\qb\"}]}", "bad escape 'q'")]
    [DataRow("{\"allow\": [{\"port\": 1, \"note\": \"a\\u12G4\"}]}", "four hexadecimal digits")]
    [DataRow("{\"allow\": [{\"port\": 1, \"note\": \"a\tb\"}]}", "control characters must be escaped")]
    [DataRow("{\"nodes\": [] /* open comment", "comment is never closed")]
    [DataRow("{\"nodes\": [] /x }", "a comment starts with")]
    [DataRow("{\"nodes\" [] }", "expected ':'")]
    [DataRow("{nodes: [] }", "field names are in double quotes")]
    [DataRow("{\"nodes\": [] \"peers\": {}}", "a missing comma")]
    [DataRow("{\"nodes\": [True]}", "true, false and null are lower case")]
    [DataRow("{\"thresholds\": {\"loss_pct\": 1.}}", "malformed number")]
    [DataRow("{\"nodes\": ]}", "where a value was expected")]
    [DataRow("{\"nodes\": []} {}", "only one JSON value")]
    [DataRow("", "holds no JSON value")]
    [DataRow("  // only a comment\n", "holds no JSON value")]
    public void SyntaxErrors_AreDescribedInOurWords(string json, string expected)
    {
        var e = Fails(json);
        StringAssert.StartsWith(e.Problem, "malformed JSON: ");
        StringAssert.Contains(e.Problem, expected, e.Problem);
    }

    [TestMethod]
    public void DeepNesting_IsDescribedInOurWords()
    {
        // Our readers stop at the first value of the wrong type; the reader's own depth limit is reached
        // only by reading on, as JsonTextPositions does for every token.
        var json = Encoding.ASCII.GetBytes(new string('[', 100) + new string(']', 100));
        var positions = new JsonTextPositions(json);
        var ex = Assert.ThrowsExactly<ProfileException>(() =>
        {
            var r = new Utf8JsonReader(positions.Text, new JsonReaderOptions());
            while (positions.Read(ref r, (l, c, p, inner) => new ProfileException("d.json", l, c, p, inner))) { }
        });
        Assert.AreEqual("malformed JSON: objects or arrays are nested too deeply (more than 64 levels)", ex.Problem);
        Assert.AreEqual((1, 65), (ex.Line, ex.Column));
    }

    [TestMethod]
    public void InvalidUtf8_InAString_IsReportedWithLineAndColumn()
    {
        // "caf" then 0xC3 0x28 (a lead byte without its continuation) inside the note, on line 2.
        byte[] json = [.. "{\"allow\": [\n  {\"port\": 1, \"note\": \"caf"u8, 0xC3, 0x28, .. "\"}]}"u8];
        var e = Fails(json);
        Assert.AreEqual((2, 27), (e.Line, e.Column), e.Message);
        StringAssert.StartsWith(e.Problem, "invalid UTF-8 (byte 0xC3)");
    }

    [TestMethod]
    public void SurrogateEncodedAsUtf8_IsInvalidUtf8()
    {
        byte[] json = [.. "{\"allow\": [{\"port\": 1, \"note\": \""u8, 0xED, 0xA0, 0x80, .. "\"}]}"u8];
        var e = Fails(json);
        Assert.AreEqual((1, 33), (e.Line, e.Column));
        StringAssert.Contains(e.Problem, "a UTF-16 surrogate encoded as UTF-8");
    }

    [TestMethod]
    public void LoneSurrogateEscape_IsReportedAtTheEscape()
    {
        var e = Fails("{\"allow\": [{\"port\": 1,\n  \"note\": \"ab\\ud800cd\"}]}");
        Assert.AreEqual((2, 14), (e.Line, e.Column));
        StringAssert.Contains(e.Problem, "lone UTF-16 surrogate escape (\\ud800)");
        var c = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.Parse("{\"version\": 1, \"source\": \"\\udc00\"}"u8, "c.json"));
        Assert.AreEqual((1, 27), (c.Line, c.Column));
        // A valid pair is text: U+1F600 in a note is accepted.
        var p = ProfileLoader.Parse("{\"allow\": [{\"port\": 1, \"note\": \"\\ud83d\\ude00\"}]}"u8, "p.json");
        Assert.AreEqual("\U0001F600", p.Allow[0].Note);
    }

    [TestMethod]
    public void Utf16File_IsNamedAsSuch()
    {
        var e = Fails(Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("{\"nodes\": []}")).ToArray());
        Assert.AreEqual((1, 1), (e.Line, e.Column));
        StringAssert.Contains(e.Problem, "UTF-16");
    }

    [TestMethod]
    public void ControlCharactersFromTheFile_AreEscapedInTheMessage()
    {
        var e = Fails("{\"nod\\u001b[31mes\": []}");
        StringAssert.Contains(e.Message, "nod\\u001B[31mes");
        Assert.IsFalse(e.Message.Any(char.IsControl));
    }

    [TestMethod]
    public void OverTheCap_IsRefusedBeforeParsing()
    {
        var big = Encoding.ASCII.GetBytes("{\"nodes\": [" + string.Concat(Enumerable.Repeat("\"10.0.0.1\",", 120_000)) + "\"10.0.0.2\"]}");
        Assert.IsGreaterThan(ProfileLoader.MaxBytes, big.Length);
        var e = Fails(big);
        StringAssert.Contains(e.Problem, "larger than 1 MiB");
        var c = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.Parse(new byte[PortCatalogue.MaxFileBytes + 10], "c.json"));
        StringAssert.Contains(c.Problem, "larger than 4 MiB");
    }

    [TestMethod]
    [DataRow("/dev/zero")]
    [DataRow("/dev/urandom")]
    public void Devices_AreRefusedAtTheCapWithoutReadingOn(string device)
    {
        if (!File.Exists(device)) Assert.Inconclusive(device + " not present");
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.ThrowsExactly<ProfileException>(() => ProfileLoader.LoadFile(device));
        var c = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(device));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        StringAssert.Contains(e.Problem, "larger than 1 MiB");
        StringAssert.Contains(c.Problem, "larger than 4 MiB");
        Assert.IsLessThan(40L << 20, allocated, "reading stops at the cap");
    }

    [TestMethod]
    public void Folder_EmptyPath_MissingFile_AreOneSentenceWithoutDotNetText()
    {
        var dir = Directory.CreateTempSubdirectory("profile-dir-").FullName;
        try
        {
            var folder = Assert.ThrowsExactly<ProfileException>(() => ProfileLoader.LoadFile(dir));
            Assert.AreEqual($"{dir}: is a folder, not a profile file", folder.Message);
            var empty = Assert.ThrowsExactly<ProfileException>(() => ProfileLoader.LoadFile(""));
            StringAssert.Contains(empty.Message, "the path is empty");
            var missing = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(Path.Combine(dir, "none.json")));
            Assert.AreEqual($"{Path.Combine(dir, "none.json")}: no such catalogue file", missing.Message);
            var catFolder = Assert.ThrowsExactly<CatalogueException>(() => PortCatalogue.LoadFile(dir));
            StringAssert.Contains(catFolder.Message, "is a folder");
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    [TestMethod]
    [DataRow("--profile", "/dev/zero")]
    [DataRow("--catalogue", "/dev/urandom")]
    [DataRow("--profile", "/tmp")]
    public void Cli_HostileConfigurationFile_ExitsTwoWithOneLine(string option, string path)
    {
        if (!Path.Exists(path)) Assert.Inconclusive(path + " not present");
        var r = CliRunner.Audit(Path.Combine(TestPaths.Captures, "imagicle-site.pcap"), option, path);
        Assert.AreEqual(2, r.ExitCode, r.Stderr);
        Assert.IsFalse(r.Stderr.Contains("   at ", StringComparison.Ordinal), r.Stderr);
        string first = r.Stderr.Split('\n')[0];
        StringAssert.Contains(first, path);
        Assert.IsFalse(FuzzTargets.DotNetPhrases.Any(first.Contains), first);
    }
}
