namespace TrafficAudit.Tests.EndToEnd;

/// <summary>A minimal RFC 4180 reader for assertions on our own CSV output (quoted fields, doubled quotes).</summary>
internal static class Csv
{
    public static List<Dictionary<string, string>> Read(string path)
    {
        var lines = ParseRecords(File.ReadAllText(path));
        var header = lines[0];
        return lines.Skip(1).Select(r => header.Select((h, i) => (h, v: i < r.Count ? r[i] : "")).ToDictionary(x => x.h, x => x.v)).ToList();
    }

    public static List<string> Header(string path) => ParseRecords(File.ReadAllText(path))[0];

    private static List<List<string>> ParseRecords(string text)
    {
        var records = new List<List<string>>();
        var field = new System.Text.StringBuilder();
        var record = new List<string>();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { record.Add(field.ToString()); field.Clear(); }
            else if (c == '\r') { }
            else if (c == '\n') { record.Add(field.ToString()); field.Clear(); records.Add(record); record = new(); }
            else field.Append(c);
        }
        if (field.Length > 0 || record.Count > 0) { record.Add(field.ToString()); records.Add(record); }
        return records;
    }
}
