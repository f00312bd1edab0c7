using TrafficAudit.Capture.Live;

namespace TrafficAudit.Tests.Live;

[TestClass]
public sealed class LivePreflightTests
{
    private static readonly Version Libpcap = new(1, 10, 3);
    /// <summary>CapEff with CAP_NET_RAW (bit 13) and CAP_NET_ADMIN (bit 12).</summary>
    private const ulong NetRawAndAdmin = 0x3000;

    [TestMethod]
    public void Evaluate_LibpcapMissing_SaysWhatToInstall()
    {
        var r = LivePreflight.Evaluate(() => throw new DllNotFoundException("Unable to load shared library 'wpcap' or one of its dependencies."),
            isRoot: true, effectiveCapabilities: ulong.MaxValue, processPath: "/usr/local/bin/trafficaudit");
        Assert.IsFalse(r.Ok);
        Assert.AreEqual(LiveCaptureProblem.LibpcapMissing, r.Problem);
        StringAssert.Contains(r.Message, "apt-get install libpcap0.8");
        StringAssert.Contains(r.Message, "'wpcap'");
        Assert.IsNull(r.LibpcapVersion);
    }

    [TestMethod]
    public void Evaluate_LibpcapMissingInsideTypeInitializer_StillRecognised()
    {
        var r = LivePreflight.Evaluate(() => throw new TypeInitializationException("SharpPcap.Pcap", new DllNotFoundException("wpcap")),
            isRoot: true, effectiveCapabilities: null, processPath: "x");
        Assert.AreEqual(LiveCaptureProblem.LibpcapMissing, r.Problem);
    }

    [TestMethod]
    public void Evaluate_VersionZero_AsSharpPcapReadsItWithoutLibpcap_IsMissing()
    {
        // SharpPcap 6.3 catches the failed load in Pcap.Version ("Pcap version can't be identified...") and LibpcapVersion
        // then reads 0.0: `trafficaudit interfaces` went on to the listing and ended in a DllNotFoundException's trace.
        var r = LivePreflight.Evaluate(() => new Version(0, 0), isRoot: true, effectiveCapabilities: ulong.MaxValue, processPath: "x");
        Assert.IsFalse(r.Ok);
        Assert.AreEqual(LiveCaptureProblem.LibpcapMissing, r.Problem);
        StringAssert.Contains(r.Message, "apt-get install libpcap0.8");
        Assert.IsNull(r.LibpcapVersion);
    }

    [TestMethod]
    public void Evaluate_NotRootNoCapabilities_SaysRunAsRootOrSetcap()
    {
        var r = LivePreflight.Evaluate(() => Libpcap, isRoot: false, effectiveCapabilities: 0, processPath: "/opt/ta/trafficaudit");
        Assert.IsFalse(r.Ok);
        Assert.AreEqual(LiveCaptureProblem.PermissionDenied, r.Problem);
        StringAssert.Contains(r.Message, "root");
        StringAssert.Contains(r.Message, "setcap cap_net_raw,cap_net_admin+eip /opt/ta/trafficaudit");
        Assert.IsFalse(r.Message.Contains("dotnet host", StringComparison.Ordinal));
    }

    [TestMethod]
    public void Evaluate_NotRootUnderDotnetHost_WarnsAgainstGrantingTheSharedHost()
    {
        var r = LivePreflight.Evaluate(() => Libpcap, isRoot: false, effectiveCapabilities: 0, processPath: "/usr/share/dotnet/dotnet");
        StringAssert.Contains(r.Message, "shared dotnet host");
    }

    [TestMethod]
    public void Evaluate_NotRootWithNetRaw_Ok()
    {
        var r = LivePreflight.Evaluate(() => Libpcap, isRoot: false, effectiveCapabilities: NetRawAndAdmin, processPath: "x");
        Assert.IsTrue(r.Ok, r.Message);
        Assert.AreEqual(Libpcap, r.LibpcapVersion);
        StringAssert.Contains(r.Message, "CAP_NET_RAW");
    }

    [TestMethod]
    public void Evaluate_NotRootOnlyNetAdmin_PermissionDenied()
    {
        // Opening an AF_PACKET socket needs CAP_NET_RAW; CAP_NET_ADMIN alone does not do.
        var r = LivePreflight.Evaluate(() => Libpcap, isRoot: false, effectiveCapabilities: 1UL << 12, processPath: "x");
        Assert.AreEqual(LiveCaptureProblem.PermissionDenied, r.Problem);
    }

    [TestMethod]
    public void Evaluate_Root_Ok()
    {
        var r = LivePreflight.Evaluate(() => Libpcap, isRoot: true, effectiveCapabilities: 0, processPath: "x");
        Assert.IsTrue(r.Ok);
        Assert.IsNull(r.Problem);
    }

    [TestMethod]
    public void TryParseEffectiveCapabilities_ProcStatusText_ReadsHex()
    {
        const string status = "Name:\ttrafficaudit\nCapInh:\t0000000000000000\nCapPrm:\t0000000000003000\nCapEff:\t0000000000003000\nCapBnd:\t000001ffffffffff\n";
        Assert.IsTrue(LivePreflight.TryParseEffectiveCapabilities(status, out ulong caps));
        Assert.AreEqual(NetRawAndAdmin, caps);
        Assert.IsFalse(LivePreflight.TryParseEffectiveCapabilities("Name:\tx\n", out _));
        Assert.IsFalse(LivePreflight.TryParseEffectiveCapabilities("CapEff:\tzz\n", out _));
    }

    [TestMethod]
    public void Check_ThisMachine_AgreesWithWhatWeAre()
    {
        var r = LivePreflight.Check();
        if (r.Problem == LiveCaptureProblem.LibpcapMissing) Assert.Inconclusive(r.Message);
        Assert.AreEqual(Environment.IsPrivilegedProcess || r.Ok, r.Ok, r.Message);
        if (Environment.IsPrivilegedProcess) Assert.IsTrue(r.Ok, r.Message);
    }

    [TestMethod]
    public void Check_WithLoopbackInterface_OpensItWhenPrivileged()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("uses the Linux interface name 'lo'");
        var basic = LivePreflight.Check();
        if (!basic.Ok) Assert.Inconclusive(basic.Message);
        var r = LivePreflight.Check("lo");
        Assert.IsTrue(r.Ok, r.Message);
        var missing = LivePreflight.Check("nosuch0");
        Assert.AreEqual(LiveCaptureProblem.NoSuchInterface, missing.Problem);
    }
}
