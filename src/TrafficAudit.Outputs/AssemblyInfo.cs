[assembly: CsvHelper.CsvConverter(typeof(TrafficAudit.Outputs.SafeTextConverter))]
