using TrafficAudit.Cli;

namespace TrafficAudit.Tests.EndToEnd;

/// <summary>
/// The usual command line is read without System.CommandLine (issue 12: building its tree was about a tenth
/// of a short audit's start-up). System.CommandLine is the oracle: every line the simple reader takes, it
/// reads the same way (command, every option's flag and values, the file names in order).
/// </summary>
[TestClass]
public sealed class CliSimpleParseTests
{
    private static void AssertSameAsSystemCommandLine(string[] args)
    {
        string line = string.Join(' ', args.Select(a => $"'{a}'"));
        if (!CliParser.TryParseSimple(args, out var simple)) return;
        ParsedCommandLine full;
        try
        {
            full = CliParser.ParseWithSystemCommandLine(args);
        }
        catch (UsageException e)
        {
            Assert.Fail($"{line}: the simple reader took it, System.CommandLine refused it: {e.Message}");
            return;
        }
        Assert.IsFalse(full.HelpRequested, line);
        Assert.AreEqual(full.Command, simple.Command, line);
        foreach (var o in simple.Command!.Options)
        {
            Assert.AreEqual(full.Arguments.Flag(o.Name), simple.Arguments.Flag(o.Name), $"{line}: flag {o.Name}");
            CollectionAssert.AreEqual(full.Arguments.Values(o.Name).ToArray(), simple.Arguments.Values(o.Name).ToArray(), $"{line}: values of {o.Name}");
        }
        CollectionAssert.AreEqual(full.Arguments.Positional, simple.Arguments.Positional, $"{line}: file names");
    }

    [TestMethod]
    public void TryParseSimple_TheUsualAuditLine_IsTakenAndReadAsSystemCommandLineReadsIt()
    {
        string[][] lines =
        [
            ["audit", "site.pcap", "--out", "out", "--quiet", "--stats"],
            ["audit", "site.pcap"],
            ["audit", "-s", "10.0.0.5", "site.pcap", "-o", "out"],
            ["audit", "--server", "10.0.0.5", "--server", "10.0.0.6", "a.pcap", "b.pcapng", "-p", "profile.json", "--report", "--fail-on", "warning"],
            ["audit", "-", "-c", "100000", "--catalog", "cat.json"],
            ["catalogue", "--wide"],
            ["interfaces"],
            ["live", "-i", "eth0", "-d", "10", "--flush", "5"],
        ];
        foreach (var args in lines)
        {
            Assert.IsTrue(CliParser.TryParseSimple(args, out _), string.Join(' ', args));
            AssertSameAsSystemCommandLine(args);
        }
    }

    [TestMethod]
    public void TryParseSimple_HelpEqualsSignsDoubleDashAndUnknownWords_GoToSystemCommandLine()
    {
        string[][] lines =
        [
            ["audit", "--help"], ["audit", "-h"], ["audit", "--out=dir", "a.pcap"], ["audit", "--", "-odd.pcap"],
            ["audit", "--nope", "a.pcap"], ["audit", "a.pcap", "--out"], ["audit", "--out", "--report", "a.pcap"],
            ["audit", "--out", "", "a.pcap"], ["audti", "a.pcap"], ["--version"], [], ["catalogue", "extra"],
            ["interfaces", "-i", "eth0"], ["audit", "--duration", "5", "a.pcap"], ["[suggest:3]", "aud"], ["audit", "@args.txt"],
        ];
        foreach (var args in lines)
            Assert.IsFalse(CliParser.TryParseSimple(args, out _), string.Join(' ', args));
    }

    [TestMethod]
    public void TryParseSimple_RandomLinesOfEveryCommand_ReadAsSystemCommandLineReadsThem()
    {
        var random = new Random(12);
        int taken = 0;
        foreach (var spec in CommandSpecs.All)
        {
            // Every option by each of its names, values, file names, and words the simple reader must leave alone.
            var words = new List<string>();
            foreach (var o in spec.Options) { words.Add(o.Name); words.AddRange(o.Aliases); }
            words.AddRange(["a.pcap", "dir/b.pcapng", "-", "10.0.0.1", "5", "x", "--", "-x", "--out=y", "audit", "help", "-h"]);
            for (int n = 0; n < 400; n++)
            {
                var args = new List<string> { spec.Name };
                int count = random.Next(0, 8);
                for (int i = 0; i < count; i++) args.Add(words[random.Next(words.Count)]);
                if (CliParser.TryParseSimple(args, out _)) taken++;
                AssertSameAsSystemCommandLine([.. args]);
            }
        }
        Assert.IsGreaterThan(200, taken, "the random lines should include many the simple reader takes");
    }
}
