using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentApi.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddSupervisorAndSessions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_parent_id",
                table: "tasks");

            migrationBuilder.AddColumn<bool>(
                name: "result_partial",
                table: "tasks",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<Guid>(
                name: "root_id",
                table: "tasks",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "subtask_index",
                table: "tasks",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "token_budget",
                table: "tasks",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "workspace",
                table: "tasks",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "session_messages",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    session_key = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    agent = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    task_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    role = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    text = table.Column<string>(type: "TEXT", nullable: true),
                    tool_name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    tool_call_id = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true),
                    tool_arguments_json = table.Column<string>(type: "TEXT", nullable: true),
                    is_error = table.Column<bool>(type: "INTEGER", nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_session_messages", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_tasks_parent_id_subtask_index",
                table: "tasks",
                columns: new[] { "parent_id", "subtask_index" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_tasks_root_id",
                table: "tasks",
                column: "root_id");

            migrationBuilder.CreateIndex(
                name: "ix_session_messages_agent_id",
                table: "session_messages",
                columns: new[] { "agent", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_session_messages_session_key_id",
                table: "session_messages",
                columns: new[] { "session_key", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "session_messages");

            migrationBuilder.DropIndex(
                name: "ix_tasks_parent_id_subtask_index",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_root_id",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "result_partial",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "root_id",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "subtask_index",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "token_budget",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "workspace",
                table: "tasks");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_parent_id",
                table: "tasks",
                column: "parent_id");
        }
    }
}
