using TrafficAudit.Capture.Live;

namespace TrafficAudit.Cli;

/// <summary>
/// `trafficaudit interfaces`: the interfaces `live -i` can capture on, with their addresses, link
/// type and state. Without libpcap: one sentence saying what to install (exit 3). Without the
/// privilege to open them: the list without link types, and what to grant.
/// </summary>
public static class InterfacesCommand
{
    public static int Run(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        if (a.Positional.Count > 0) throw new UsageException($"unexpected argument '{a.Positional[0]}'");

        var preflight = LivePreflight.Check();
        if (preflight.Problem == LiveCaptureProblem.LibpcapMissing)
        {
            stderr.WriteLine($"trafficaudit: {preflight.Message}");
            return ExitCodes.CaptureUnreadable;
        }
        IReadOnlyList<LiveInterfaceInfo> list;
        try
        {
            // Opening an interface to learn its link type needs the capture privilege.
            list = LiveInterfaces.List(probeLinkTypes: preflight.Ok);
        }
        catch (LiveCaptureException e)
        {
            return LiveCommand.Fail(e, stderr);
        }
        Write(stdout, list);
        if (!preflight.Ok) stderr.WriteLine($"trafficaudit: link types not shown: {preflight.Message}");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// One line per interface: its number (as <c>dumpcap -D</c> numbers them: libpcap's order from 1;
    /// <c>live -i N</c> takes it), name, state, link type, addresses (then the description).
    /// </summary>
    internal static void Write(TextWriter o, IReadOnlyList<LiveInterfaceInfo> list)
    {
        int width = Math.Max(9, list.Count == 0 ? 0 : list.Max(i => i.Name.Length));
        o.WriteLine($"  # {"interface".PadRight(width)}  {"state",-12} {"link type",-10} addresses");
        int number = 0;
        foreach (var i in list)
        {
            number++;
            string state = (i.IsUp ? "up" : "down") + (i.IsUp && i.IsRunning ? ",running" : "");
            string link = i.LinkType is { } lt ? LinkTypeName(lt) : "?";
            string addresses = i.Addresses.Count == 0 ? "-" : string.Join(" ", i.Addresses);
            string extra = (i.IsLoopback ? " [loopback]" : "") + (i.IsWireless ? " [wireless]" : "")
                + (string.IsNullOrEmpty(i.Description) ? "" : $" ({i.Description})");
            o.WriteLine($"{number,3} {i.Name.PadRight(width)}  {state,-12} {link,-10} {addresses}{extra}");
        }
        if (list.Count == 0) o.WriteLine("(no capture interface found)");
        else o.WriteLine("'trafficaudit live -i NUMBER' or '-i NAME' captures on one.");
    }

    private static string LinkTypeName(Capture.LinkType lt) => lt switch
    {
        Capture.LinkType.Ethernet => "ethernet",
        Capture.LinkType.LinuxSll => "linux-sll",
        Capture.LinkType.LinuxSll2 => "linux-sll2",
        Capture.LinkType.Raw or Capture.LinkType.Ipv4 or Capture.LinkType.Ipv6 => "raw-ip",
        Capture.LinkType.Null or Capture.LinkType.Loop => "bsd-loop",
        _ => $"dlt-{(int)lt}",
    };
}
