using System.Text.RegularExpressions;
using TrafficAudit.Capture;
using TrafficAudit.Capture.Live;
using TrafficAudit.Decode;
using TrafficAudit.Evidence;

namespace TrafficAudit.Cli;

/// <summary>
/// Writes the files of an <see cref="EvidencePlan"/> (--evidence) as pcapng into DIR/evidence: a second
/// pass over the capture files after the audit (<see cref="EvidenceExtractor"/>), each frame with its
/// original link type (one interface block per source interface that contributed), timestamp
/// (ns resolution) and lengths, through the same pcapng writer as `live --write`. Each file is written
/// under a temporary name and renamed when complete; evidence files of an older run that this run does
/// not write (finding-N.pcapng, call-N.pcapng) are removed, nothing else.
/// </summary>
public static partial class EvidenceOutput
{
    [GeneratedRegex(@"^(finding|call)-\d+\.pcapng$")]
    private static partial Regex OurName();

    /// <summary>Runs the second pass over <paramref name="files"/> and writes every planned file. Returns the packets written.</summary>
    /// <exception cref="IOException">The folder cannot be written.</exception>
    /// <exception cref="CaptureFormatException">A file no longer reads as a capture.</exception>
    public static long Write(string outDir, EvidencePlan plan, IReadOnlyList<string> files)
    {
        string dir = Path.Combine(outDir, EvidencePlan.Folder);
        Directory.CreateDirectory(dir);
        var sink = new Sink(outDir, plan);
        try
        {
            var sources = new List<IFrameSource>();
            try
            {
                for (int i = 0; i < files.Count; i++) sources.Add(CaptureFile.Open(files[i], i, new AnomalyCounters()));
                using IFrameSource source = sources.Count == 1 ? sources[0] : new MergedFrameSource(sources);
                EvidenceExtractor.Run(plan, source, sink);
            }
            catch
            {
                foreach (var s in sources) s.Dispose();
                throw;
            }
            sink.Complete();
        }
        finally
        {
            sink.Dispose();
        }
        var written = plan.Targets.Select(t => Path.GetFileName(t.RelativePath)).ToHashSet(StringComparer.Ordinal);
        foreach (var old in Directory.EnumerateFiles(dir))
        {
            string name = Path.GetFileName(old);
            if (OurName().IsMatch(name) && !written.Contains(name)) File.Delete(old);
        }
        return plan.Targets.Sum(t => t.Packets);
    }

    /// <summary>One pcapng writer per evidence file, opened when the file gets its first packet (or at the end, empty).</summary>
    private sealed class Sink(string outDir, EvidencePlan plan) : IEvidenceSink, IDisposable
    {
        private sealed class Open
        {
            public required PcapNgRingWriter Writer;
            public required string TempPath;
            public required string FinalPath;
            public readonly Dictionary<(int File, int Index, LinkType Link), int> Interfaces = [];
        }

        private readonly Open?[] _open = new Open?[plan.Targets.Count];

        public void Write(int target, in FrameHeader header, ReadOnlySpan<byte> frame, CaptureInterface? sourceInterface)
        {
            var o = _open[target] ??= Create(target);
            var key = (header.FileIndex, header.InterfaceIndex, header.LinkType);
            if (!o.Interfaces.TryGetValue(key, out int id))
            {
                string? name = sourceInterface?.Name ?? (sourceInterface is not null ? Path.GetFileName(sourceInterface.File) : null);
                id = o.Writer.AddInterface(header.LinkType, sourceInterface?.SnapLength > 0 ? sourceInterface.SnapLength : 262144, name, sourceInterface?.Description);
                o.Interfaces[key] = id;
            }
            o.Writer.WritePacket(id, in header, frame);
        }

        private Open Create(int target)
        {
            string final = Path.Combine(outDir, plan.Targets[target].RelativePath.Replace('/', Path.DirectorySeparatorChar));
            string temp = Path.Combine(Path.GetDirectoryName(final)!, "." + Path.GetFileNameWithoutExtension(final) + "." + Environment.ProcessId + ".tmp.pcapng");
            return new Open { Writer = new PcapNgRingWriter(new PcapNgRingOptions { Path = temp, BufferSize = 1 << 16 }), TempPath = temp, FinalPath = final };
        }

        /// <summary>Closes every file (an empty one for a target nothing matched) and moves it into place.</summary>
        public void Complete()
        {
            for (int i = 0; i < _open.Length; i++)
            {
                var o = _open[i] ??= Create(i);
                o.Writer.Dispose();
                File.Move(o.TempPath, o.FinalPath, overwrite: true);
            }
        }

        public void Dispose()
        {
            foreach (var o in _open)
            {
                if (o is null) continue;
                o.Writer.Dispose();
                if (File.Exists(o.TempPath)) File.Delete(o.TempPath);
            }
        }
    }
}
