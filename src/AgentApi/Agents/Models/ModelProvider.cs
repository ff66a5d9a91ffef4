namespace AgentApi.Agents.Models;

public enum ModelProvider
{
    /// <summary>The built-in deterministic model; needs no network and no key.</summary>
    Simulated,

    /// <summary>Any OpenAI-compatible chat completions endpoint: OpenAI, Ollama, vLLM, llama.cpp.</summary>
    OpenAI,

    /// <summary>Anthropic's Messages API.</summary>
    Anthropic,
}
