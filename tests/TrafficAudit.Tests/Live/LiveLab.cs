using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using TrafficAudit.Capture.Live;

namespace TrafficAudit.Tests.Live;

/// <summary>
/// A network namespace made for one test (iproute2), so that every packet the test sends stays
/// inside it: its own loopback, and optionally a veth pair va/vb with IPv6 off (no neighbour
/// discovery chatter). Processes are started inside it and killed, by their own id, on Dispose,
/// which then deletes the namespace. Anything missing (root, iproute2, netns support, libpcap, a
/// tool) makes the test Inconclusive.
/// </summary>
internal sealed class LiveLab : IDisposable
{
    private static int s_counter;
    private readonly List<LabProcess> _processes = new();

    private LiveLab(string name, string work)
    {
        Name = name;
        Work = work;
    }

    public string Name { get; }
    /// <summary>A fresh temporary folder for the test's files.</summary>
    public string Work { get; }

    public static string Ip => File.Exists("/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip";

    /// <summary>The CLI assembly next to the tests (the test project references it).</summary>
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "trafficaudit.dll");

    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } p && File.Exists(p) ? p
        : File.Exists("/usr/bin/dotnet") ? "/usr/bin/dotnet" : "dotnet";

    public static LiveLab Create(bool veth = false)
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("network namespaces are Linux only");
        if (!Environment.IsPrivilegedProcess) Assert.Inconclusive("creating a network namespace needs root");
        if (!File.Exists(Ip)) Assert.Inconclusive("iproute2 (ip) is not installed");
        var pre = LivePreflight.Check();
        if (!pre.Ok) Assert.Inconclusive("live capture not possible here: " + pre.Message);
        if (!File.Exists(CliDll)) Assert.Inconclusive("trafficaudit.dll not next to the tests");

        string name = $"tatest{Environment.ProcessId}x{Interlocked.Increment(ref s_counter)}";
        string work = Path.Combine(Path.GetTempPath(), "trafficaudit-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        var (rc, _, err) = Exec(Ip, ["netns", "add", name]);
        if (rc != 0) Assert.Inconclusive($"cannot create a network namespace: {err.Trim()}");
        var lab = new LiveLab(name, work);
        try
        {
            lab.Must(Ip, "-n", name, "link", "set", "lo", "up");
            if (veth)
            {
                lab.Must(Ip, "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
                lab.Must(Ip, "netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
                lab.Must(Ip, "-n", name, "link", "add", "va", "type", "veth", "peer", "name", "vb");
                lab.Must(Ip, "-n", name, "link", "set", "va", "up");
                lab.Must(Ip, "-n", name, "link", "set", "vb", "up");
            }
        }
        catch
        {
            lab.Dispose();
            throw;
        }
        return lab;
    }

    public static void RequireTool(string path, string package)
    {
        if (!File.Exists(path)) Assert.Inconclusive($"{path} is missing (Debian package {package}; tools/test.sh installs it as root)");
    }

    private void Must(string file, params string[] args)
    {
        var (rc, o, e) = Exec(file, args);
        if (rc != 0) Assert.Inconclusive($"{string.Join(' ', args)} failed ({rc}): {o}{e}");
    }

    /// <summary>Starts <paramref name="file"/> inside the namespace.</summary>
    public LabProcess Start(string file, params string[] args)
    {
        var p = new LabProcess(Ip, ["netns", "exec", Name, file, .. args], Work);
        _processes.Add(p);
        return p;
    }

    /// <summary>Starts `trafficaudit ARGS` inside the namespace.</summary>
    public LabProcess StartCli(params string[] args) => Start(Dotnet, [CliDll, .. args]);

    /// <summary>Runs a command to its end (outside any namespace).</summary>
    public static (int ExitCode, string Stdout, string Stderr) Exec(string file, string[] args, int timeoutMs = 30_000)
    {
        using var p = new LabProcess(file, args, null);
        if (!p.WaitForExit(timeoutMs)) { p.Kill(); throw new TimeoutException($"{file} {string.Join(' ', args)} did not end"); }
        return (p.ExitCode, p.Stdout, p.Stderr);
    }

    public void Dispose()
    {
        foreach (var p in _processes) { p.Kill(); p.Dispose(); }
        Exec(Ip, ["netns", "del", Name]);
        try { Directory.Delete(Work, true); } catch (IOException) { }
    }
}

/// <summary>A child process whose output is collected as it comes.</summary>
internal sealed class LabProcess : IDisposable
{
    private const int SigTerm = 15;
    private readonly Process _process;
    private readonly StringBuilder _out = new(), _err = new();

    public LabProcess(string file, string[] args, string? workingDirectory)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_err) _err.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Stdout { get { lock (_out) return _out.ToString(); } }
    public string Stderr { get { lock (_err) return _err.ToString(); } }
    public int ExitCode => _process.ExitCode;
    public bool HasExited => _process.HasExited;

    public bool WaitForExit(int ms)
    {
        if (!_process.WaitForExit(ms)) return false;
        _process.WaitForExit();   // drains the output events
        return true;
    }

    /// <summary>Waits until <paramref name="text"/> appears on stderr (or the process ends).</summary>
    public bool WaitForStderr(string text, int ms)
    {
        var clock = Stopwatch.StartNew();
        while (clock.ElapsedMilliseconds < ms)
        {
            if (Stderr.Contains(text, StringComparison.Ordinal)) return true;
            if (_process.HasExited) return Stderr.Contains(text, StringComparison.Ordinal);
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>SIGTERM, as a service manager stops a capture.</summary>
    public void Terminate()
    {
        if (!_process.HasExited) kill(_process.Id, SigTerm);
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
    }

    public void Dispose() => _process.Dispose();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
