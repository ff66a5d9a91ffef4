using AgentApi.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AgentApi.Pages;

/// <summary>Exchanges an API key for the dashboard's auth cookie.</summary>
[AllowAnonymous]
public sealed class LoginModel(ApiKeyStore keyStore, ILogger<LoginModel> logger) : PageModel
{
    public string? ErrorMessage { get; private set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync([FromForm] string? key)
    {
        var identity = string.IsNullOrEmpty(key) ? null : keyStore.Validate(key);
        if (identity is null)
        {
            SecurityLog.SignInFailed(logger, HttpContext.Connection.RemoteIpAddress?.ToString());
            ErrorMessage = "That API key is not valid.";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }

        var principal = ApiKeyAuthenticationHandler.CreatePrincipal(
            identity,
            CookieAuthenticationDefaults.AuthenticationScheme);
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal);
        SecurityLog.SignedIn(logger, identity.Name);

        // Only local paths are followed, so the form cannot be used to send people elsewhere.
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/");
    }
}
