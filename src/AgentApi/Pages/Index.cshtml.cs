using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AgentApi.Pages;

public sealed class IndexModel : PageModel
{
    public void OnGet()
    {
    }
}
