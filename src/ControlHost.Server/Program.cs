using ControlHost.Server;

// controlhost-server [--port N] [--listen] [--api-auth user:pass[,...]] [--queue N]; `controlhost serve` is the same.
var settings = ServerArgs.Parse(args);
ServerHost.Build(settings).Run();

/// <summary>The entry point, public so that integration tests can host it.</summary>
public partial class Program;
