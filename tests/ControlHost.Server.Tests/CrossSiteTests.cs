using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;

namespace ControlHost.Server.Tests;

/// <summary>
/// Requests a web page on another site could make through the user's browser are refused (issue 23, finding 5), while
/// the requests A1111 clients make keep working: JSON bodies, no Origin, the server's own page.
/// </summary>
public sealed class CrossSiteTests : IAsyncLifetime
{
    private WebApplication? _app, _corsApp;
    private HttpClient _client = new(), _corsClient = new();

    public async Task InitializeAsync()
    {
        (_app, _client) = await ServerFixture.Start(ServerFixture.Settings() with { AllowedHosts = ["controlhost.lan"] });
        (_corsApp, _corsClient) = await ServerFixture.Start(ServerFixture.Settings() with { CorsOrigins = ["http://tools.example:8080"] });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _corsClient.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        if (_corsApp is not null) await _corsApp.DisposeAsync();
    }

    private static HttpRequestMessage Post(string path, string? body, string? contentType, string? origin = null, string? host = null)
    {
        var r = new HttpRequestMessage(HttpMethod.Post, path);
        if (body is not null) r.Content = new StringContent(body, Encoding.UTF8, contentType ?? "application/json");
        if (origin is not null) r.Headers.Add("Origin", origin);
        if (host is not null) r.Headers.Host = host;
        return r;
    }

    [Fact]
    public async Task A_text_plain_or_form_body_is_refused_and_JSON_works()
    {
        using var plain = await _client.SendAsync(Post("/sdapi/v1/options", """{"sd_model_checkpoint": "tiny-sd"}""", "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, plain.StatusCode);
        Assert.Contains("application/json", await plain.Content.ReadAsStringAsync());
        using var form = await _client.SendAsync(Post("/sdapi/v1/interrupt", "a=1", "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        using var json = await _client.SendAsync(Post("/sdapi/v1/options", """{"sd_model_checkpoint": "tiny-sd"}""", "application/json"));
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        using var empty = await _client.SendAsync(Post("/sdapi/v1/interrupt", null, null)); // clients POST interrupt with no body
        Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
    }

    [Fact]
    public async Task A_request_from_another_origin_is_refused_and_the_server_s_own_page_is_not()
    {
        using var other = await _client.SendAsync(Post("/sdapi/v1/interrupt", null, null, origin: "http://attacker.example"));
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Contains("--cors-allow-origins", await other.Content.ReadAsStringAsync());
        var own = _client.BaseAddress!.GetLeftPart(UriPartial.Authority);
        using var same = await _client.SendAsync(Post("/sdapi/v1/interrupt", null, null, origin: own));
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
    }

    [Fact]
    public async Task A_host_name_that_is_not_allowed_is_refused_as_DNS_rebinding()
    {
        var port = _client.BaseAddress!.Port;
        using var rebound = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/sdapi/v1/options") { Headers = { Host = $"attacker.example:{port}" } });
        Assert.Equal(HttpStatusCode.BadRequest, rebound.StatusCode);
        Assert.Contains("--allowed-hosts", await rebound.Content.ReadAsStringAsync());
        using var named = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/sdapi/v1/options") { Headers = { Host = $"controlhost.lan:{port}" } });
        Assert.Equal(HttpStatusCode.OK, named.StatusCode);
        using var local = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/sdapi/v1/options") { Headers = { Host = $"localhost:{port}" } });
        Assert.Equal(HttpStatusCode.OK, local.StatusCode);
    }

    [Fact]
    public async Task No_CORS_headers_unless_an_origin_is_allowed_and_then_only_for_it()
    {
        var preflight = new HttpRequestMessage(HttpMethod.Options, "/sdapi/v1/txt2img");
        preflight.Headers.Add("Origin", "http://tools.example:8080");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        using var allowed = await _corsClient.SendAsync(preflight);
        Assert.Equal("http://tools.example:8080", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        using var get = await _client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/sdapi/v1/samplers") { Headers = { { "Origin", _client.BaseAddress!.GetLeftPart(UriPartial.Authority) } } });
        Assert.False(get.Headers.Contains("Access-Control-Allow-Origin"));
        using var refused = await _corsClient.SendAsync(Post("/sdapi/v1/interrupt", null, null, origin: "http://elsewhere.example"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }
}
