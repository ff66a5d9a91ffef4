namespace AgentApi.Agents.Tools;

/// <summary>
/// The parsed <c>Tools:WebFetch:AllowedHosts</c>. A URL is allowed when its host equals an
/// entry's host, ignoring case, and the entry has no port or the URL's port.
/// </summary>
internal sealed class HostAllowlist
{
    private readonly HostEntry[] _entries;

    public HostAllowlist(IEnumerable<string> entries)
    {
        _entries = entries
            .Select(entry => TryParseEntry(entry, out var parsed)
                ? parsed
                : throw new ArgumentException($"'{entry}' is not a valid allowed host entry.", nameof(entries)))
            .ToArray();
    }

    public bool IsEmpty => _entries.Length == 0;

    /// <summary>Whether the URL's host, in its Unicode or its punycode form, and port match an entry.</summary>
    public bool IsAllowed(Uri uri) =>
        _entries.Any(entry =>
            (string.Equals(entry.Host, uri.Host, StringComparison.OrdinalIgnoreCase)
                || string.Equals(entry.Host, uri.IdnHost, StringComparison.OrdinalIgnoreCase))
            && (entry.Port is null || entry.Port == uri.Port));

    /// <summary>
    /// Parses <c>host</c>, <c>host:port</c>, <c>[ipv6]</c> or <c>[ipv6]:port</c>. Returns false
    /// for anything else, including entries with a scheme, a path or user information.
    /// </summary>
    public static bool TryParseEntry(string? entry, out HostEntry parsed)
    {
        parsed = default;
        var text = entry?.Trim();
        if (string.IsNullOrEmpty(text) || text.IndexOfAny(['/', '@', '?', '#', ' ', '\\']) >= 0)
        {
            return false;
        }

        string host;
        string? portText = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = text[..(close + 1)];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (!rest.StartsWith(':'))
                {
                    return false;
                }

                portText = rest[1..];
            }
        }
        else
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon != text.LastIndexOf(':'))
            {
                // An IPv6 address without brackets cannot be distinguished from a host with a port.
                return false;
            }

            host = colon < 0 ? text : text[..colon];
            portText = colon < 0 ? null : text[(colon + 1)..];
        }

        var bracketed = host.StartsWith('[');
        var hostKind = Uri.CheckHostName(bracketed ? host[1..^1] : host);
        if (hostKind == UriHostNameType.Unknown || bracketed != (hostKind == UriHostNameType.IPv6))
        {
            return false;
        }

        int? port = null;
        if (portText is not null)
        {
            if (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
                || number is < 1 or > 65535)
            {
                return false;
            }

            port = number;
        }

        parsed = new HostEntry(host, port);
        return true;
    }

    /// <summary>One allowed host, with the only port allowed or null for any port.</summary>
    internal readonly record struct HostEntry(string Host, int? Port);
}
