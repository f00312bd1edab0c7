using System.Buffers.Binary;

namespace TrafficAudit.Tests.Synth;

/// <summary>
/// A deliberately tiny, independent reader of classic little-endian µs pcap files for the
/// synthesizer's tests: it checks every header field it walks over and fails the test on any
/// inconsistency, so it shares no code with the writer it checks.
/// </summary>
internal static class PcapRecords
{
    public readonly record struct Record(long UnixMicros, byte[] Frame);

    public static List<Record> ReadAll(byte[] file, uint expectedLinkType = 1)
    {
        Assert.IsGreaterThanOrEqualTo(24, file.Length, "file shorter than a pcap global header");
        // d4 c3 b2 a1 02 00 04 00 00 00 00 00 00 00 00 00 ff ff 00 00 01 00 00 00
        Assert.AreEqual(0xA1B2C3D4u, BinaryPrimitives.ReadUInt32LittleEndian(file), "magic (µs, little endian)");
        Assert.AreEqual((ushort)2, BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(4)), "version major");
        Assert.AreEqual((ushort)4, BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(6)), "version minor");
        uint snap = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(16));
        Assert.AreEqual(expectedLinkType, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(20)), "link type");
        var list = new List<Record>();
        int pos = 24;
        long last = long.MinValue;
        while (pos < file.Length)
        {
            Assert.IsLessThanOrEqualTo(file.Length, pos + 16, $"record header cut at offset {pos}");
            uint sec = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos));
            uint usec = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 4));
            int incl = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 8));
            int orig = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 12));
            Assert.IsLessThan(1_000_000u, usec, $"microseconds out of range at offset {pos}");
            Assert.AreEqual(orig, incl, $"truncated frame at offset {pos}");
            Assert.IsLessThanOrEqualTo((int)snap, incl, $"frame longer than snaplen at offset {pos}");
            Assert.IsGreaterThanOrEqualTo(14, incl, $"frame shorter than Ethernet at offset {pos}");
            Assert.IsLessThanOrEqualTo(file.Length, pos + 16 + incl, $"frame cut at offset {pos}");
            long t = sec * 1_000_000L + usec;
            Assert.IsGreaterThanOrEqualTo(last, t, $"time goes backwards at offset {pos}");
            last = t;
            list.Add(new Record(t, file.AsSpan(pos + 16, incl).ToArray()));
            pos += 16 + incl;
        }
        Assert.AreEqual(file.Length, pos, "file does not end on a record boundary");
        return list;
    }
}
